// Package storedtoken is the job of the x/oauth2 baselines (../../oauth2file,
// ../../oauth2keyring): `setup` writes a stored token to BENCH_DIR/oauth2-token.json;
// otherwise the stored token is read (by the baseline's own read), decoded and handed out
// through Config.TokenSource, which refreshes over net/http and TLS when it has expired, so
// the HTTP client is linked as it is in any CLI that logs in.
package storedtoken

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

// Run does the job; read returns the stored token's JSON from the file at path or
// wherever the baseline keeps it.
func Run(read func(path string) ([]byte, error)) {
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
	data, err := read(path)
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
