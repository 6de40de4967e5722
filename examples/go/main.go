// A small Go CLI over the termauth Go package:
//
//	mycli login [--device|--browser|--paste|--client-credentials]
//	mycli token                 # fresh access token on stdout: $(mycli token)
//	mycli get URL               # GET with the token, through oauth2.NewClient
//	mycli status | logout
//
// Configuration from the environment: MYCLI_ISSUER, MYCLI_CLIENT_ID, MYCLI_SCOPE
// (MYCLI_CLIENT_SECRET for --client-credentials). Exit codes follow the error's hint:
// 3 reauthenticate, 4 retry later, 5 fix configuration, 6 fatal.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
	"golang.org/x/oauth2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt) // Ctrl-C cancels a login
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var te *termauth.Error
		if errors.As(err, &te) {
			codes := map[string]int{termauth.HintReauthenticate: 3, termauth.HintRetryLater: 4, termauth.HintFixConfiguration: 5}
			if code, ok := codes[te.Hint]; ok {
				os.Exit(code)
			}
			os.Exit(6)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: mycli login|token|get|status|logout")
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
	defer c.Close()
	switch args[0] {
	case "login":
		method := termauth.Device
		if len(args) > 1 {
			method = map[string]termauth.Method{"--device": termauth.Device, "--browser": termauth.Browser,
				"--paste": termauth.Paste, "--client-credentials": termauth.ClientCredentials}[args[1]]
		}
		report, err := c.Login(ctx, method)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "Logged in (profile %s, %s).\n", report.Profile, report.Store.Reason)
	case "token":
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		fmt.Println(tok)
	case "get":
		if len(args) < 2 {
			return fmt.Errorf("usage: mycli get URL")
		}
		resp, err := oauth2.NewClient(ctx, c.TokenSource(ctx)).Get(args[1])
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(os.Stdout, resp.Body)
		return err
	case "status":
		return json.NewEncoder(os.Stdout).Encode(c.Status())
	case "logout":
		report, err := c.Logout(ctx)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(report)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}
