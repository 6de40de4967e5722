// Cold start with termauth linked: create a client and read a stored token, as a CLI does
// before every command (BENCH_DIR holds a file-store credential written by run.sh).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
)

func main() {
	c, err := termauth.New(termauth.Config{App: "bench", Issuer: "https://as.example.com", ClientID: "cli",
		ConfigDir: os.Getenv("BENCH_DIR"), Store: termauth.StoreFile, Stderr: io.Discard})
	if err != nil {
		panic(err)
	}
	if len(os.Args) > 1 && os.Args[1] == "setup" {
		if _, err := c.Login(context.Background(), termauth.Token("at-0123456789abcdef0123456789abcdef")); err != nil {
			panic(err)
		}
		return
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(io.Discard, tok)
}
