// A small Go CLI over the termauth Go package:
//
//	mycli login [--device|--browser|--paste|--client-credentials]   (default: chosen from where it runs)
//	mycli token                 # a fresh access token on stdout: $(mycli token)
//	mycli get URL               # GET with the token, through oauth2.NewClient
//	mycli status | profiles | logout
//
// Configuration from the environment: MYCLI_ISSUER, MYCLI_CLIENT_ID, MYCLI_SCOPE
// (MYCLI_CLIENT_SECRET for --client-credentials). Every sentence it prints is termauth's;
// Ctrl-C cancels a login (a second one exits); the exit codes are termauth's: 3 log in
// again, 4 try again later, 5 fix the configuration, 6 other, 130 cancelled.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
	"golang.org/x/oauth2"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(termauth.ExitCode(err))
	}
}

var errUsage = errors.New("usage: mycli login [--device|--browser|--paste|--client-credentials] | token | get URL | status | profiles | logout")

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	c, err := termauth.New(termauth.Config{
		App:      "mycli",
		Issuer:   os.Getenv("MYCLI_ISSUER"),
		ClientID: os.Getenv("MYCLI_CLIENT_ID"),
		Scope:    os.Getenv("MYCLI_SCOPE"),
	})
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	switch args[0] {
	case "login":
		method := termauth.Auto
		if len(args) > 1 {
			m, ok := map[string]termauth.Method{"--device": termauth.Device, "--browser": termauth.Browser,
				"--paste": termauth.Paste, "--client-credentials": termauth.ClientCredentials}[args[1]]
			if !ok {
				return errUsage
			}
			method = m
		}
		report, err := c.Login(ctx, method)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, report.Text)
	case "token":
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		fmt.Println(tok)
	case "get":
		if len(args) < 2 {
			return errUsage
		}
		resp, err := oauth2.NewClient(ctx, c.TokenSource(ctx)).Get(args[1])
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(os.Stdout, resp.Body)
		return err
	case "status":
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if err := out.Encode(st); err != nil {
			return err
		}
		if st.Problem != nil { // exit 3 when a login is needed, for scripts
			return st.Problem
		}
		return nil
	case "profiles":
		ps, err := c.Profiles(ctx)
		if err != nil {
			return err
		}
		return out.Encode(ps)
	case "logout":
		report, err := c.Logout(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, report.Text)
	default:
		return errUsage
	}
	return nil
}
