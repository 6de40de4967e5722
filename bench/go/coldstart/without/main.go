// Cold start without termauth: the same program shape with oauth2 and a static token.
package main

import (
	"fmt"
	"io"

	"golang.org/x/oauth2"
)

func main() {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "at-0123456789abcdef0123456789abcdef"})
	tok, err := ts.Token()
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(io.Discard, tok.AccessToken)
}
