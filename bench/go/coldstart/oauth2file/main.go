// The size and cold-start baseline with the same job as ./with: a CLI on x/oauth2 that
// keeps its token in a file. It reads and decodes the stored token and gets it through
// Config.TokenSource, which refreshes over net/http and TLS when the token has expired, so
// the HTTP client is linked as it is in any CLI that logs in (./without links a static
// token only: no file, no HTTP).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"
)

func main() {
	path := filepath.Join(os.Getenv("BENCH_DIR"), "oauth2-token.json")
	if len(os.Args) > 1 && os.Args[1] == "setup" {
		data, _ := json.Marshal(&oauth2.Token{AccessToken: "at-0123456789abcdef0123456789abcdef", TokenType: "Bearer",
			RefreshToken: "rt-0123456789abcdef", Expiry: time.Now().Add(24 * time.Hour)})
		if err := os.WriteFile(path, data, 0o600); err != nil {
			panic(err)
		}
		return
	}
	cfg := &oauth2.Config{ClientID: "cli", Endpoint: oauth2.Endpoint{
		AuthURL: "https://as.example.com/authorize", TokenURL: "https://as.example.com/token"}}
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var stored oauth2.Token
	if err := json.Unmarshal(data, &stored); err != nil {
		panic(err)
	}
	tok, err := cfg.TokenSource(context.Background(), &stored).Token()
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(io.Discard, tok.AccessToken)
}
