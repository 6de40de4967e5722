// Command racer is a small termauth CLI in Go for the cross-language tests: `token` prints
// a valid access token of the app's stored credential (renewed under the shared lock when
// due), for the refresh race; `login` logs in with the device flow or client credentials,
// for the malformed-server corpus (tests/hostile). It exits like the termauth CLI (0, or
// termauth.ExitCode of the error, whose message and code it prints to stderr).
//
//	racer token --issuer URL --client-id ID [--app termauth] [--profile NAME]
//	racer login --device|--client-credentials --issuer URL --client-id ID [--app termauth]
//
// The issuer and client ID default to TERMAUTH_ISSUER and TERMAUTH_CLIENT_ID; the config
// directory is <APP>_CONFIG_DIR's, as for the CLI; a client secret comes from
// <APP>_CLIENT_SECRET or TERMAUTH_CLIENT_SECRET. Build: (cd bindings-ffi/go && go build -o
// /tmp/racer ./internal/racer), after bindings-ffi/build-lib.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "token" && os.Args[1] != "login") {
		fmt.Fprintln(os.Stderr, "usage: racer token|login [--device|--client-credentials] --issuer URL --client-id ID [--app NAME] [--profile NAME]")
		os.Exit(2)
	}
	flags := flag.NewFlagSet("racer "+os.Args[1], flag.ExitOnError)
	issuer := flags.String("issuer", os.Getenv("TERMAUTH_ISSUER"), "issuer")
	clientID := flags.String("client-id", os.Getenv("TERMAUTH_CLIENT_ID"), "client ID")
	app := flags.String("app", "termauth", "app name")
	profile := flags.String("profile", os.Getenv("TERMAUTH_PROFILE"), "profile")
	device := flags.Bool("device", false, "login: the device flow")
	clientCredentials := flags.Bool("client-credentials", false, "login: client credentials")
	_ = flags.Parse(os.Args[2:])
	c, err := termauth.New(termauth.Config{App: *app, Issuer: *issuer, ClientID: *clientID, Profile: *profile})
	if err == nil {
		if os.Args[1] == "token" {
			var tok string
			if tok, err = c.Token(context.Background()); err == nil {
				fmt.Println(tok)
				return
			}
		} else {
			method := termauth.Auto
			switch {
			case *device:
				method = termauth.Device
			case *clientCredentials:
				method = termauth.ClientCredentials
			}
			if _, err = c.Login(context.Background(), method); err == nil {
				return
			}
		}
	}
	var te *termauth.Error
	if errors.As(err, &te) {
		fmt.Fprintf(os.Stderr, "error: %s [%s]\n", te.Message, te.Code)
	} else {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(termauth.ExitCode(err))
}
