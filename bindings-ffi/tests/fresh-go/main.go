// A program outside this repository's module tree that imports only the Go module directory
// (bindings-ffi/test.sh copies bindings-ffi/go next to it and builds it with no Rust on
// PATH): it logs in with client credentials against the issuer in os.Args[1] and prints
// "ok", the token's length and what a second Rust static library linked beside termauth
// answers (42).
package main

import (
	"context"
	"fmt"
	"os"

	termauth "github.com/termauth/termauth/bindings-ffi/go"

	"example.com/fresh/other"
)

func main() {
	c, err := termauth.New(termauth.Config{App: "fresh", Issuer: os.Args[1], ClientID: "termauth-ci-basic",
		Scope: "api:read", ConfigDir: os.Args[2], Store: termauth.StoreFile})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(termauth.ExitCode(err))
	}
	ctx := context.Background()
	if _, err := c.Login(ctx, termauth.ClientCredentials); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(termauth.ExitCode(err))
	}
	tok, err := c.Token(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(termauth.ExitCode(err))
	}
	fmt.Println("ok", len(tok), other.Answer())
}
