// Command racer is `termauth token` in Go, for the cross-language refresh race: it prints
// a valid access token of the app's stored credential (renewed under the shared lock when
// due) and exits like the termauth CLI (0, or termauth.ExitCode of the error).
//
//	racer token --issuer URL --client-id ID [--app termauth] [--profile NAME]
//
// The issuer and client ID default to TERMAUTH_ISSUER and TERMAUTH_CLIENT_ID; the config
// directory is <APP>_CONFIG_DIR's, as for the CLI. Build: (cd bindings-ffi/go && go build
// -o /tmp/racer ./internal/racer), after bindings-ffi/build-lib.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "token" {
		fmt.Fprintln(os.Stderr, "usage: racer token --issuer URL --client-id ID [--app NAME] [--profile NAME]")
		os.Exit(2)
	}
	flags := flag.NewFlagSet("racer token", flag.ExitOnError)
	issuer := flags.String("issuer", os.Getenv("TERMAUTH_ISSUER"), "issuer")
	clientID := flags.String("client-id", os.Getenv("TERMAUTH_CLIENT_ID"), "client ID")
	app := flags.String("app", "termauth", "app name")
	profile := flags.String("profile", os.Getenv("TERMAUTH_PROFILE"), "profile")
	_ = flags.Parse(os.Args[2:])
	c, err := termauth.New(termauth.Config{App: *app, Issuer: *issuer, ClientID: *clientID, Profile: *profile})
	if err == nil {
		var tok string
		if tok, err = c.Token(context.Background()); err == nil {
			fmt.Println(tok)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(termauth.ExitCode(err))
}
