// The like-for-like baseline of ./with: ./oauth2file plus what a Go CLI uses to keep its
// token in the OS keyring, as gh does (github.com/zalando/go-keyring: the Secret Service
// over godbus on Linux, the Keychain, the Credential Manager), with the file as fallback.
// termauth's library carries its own keyring client, so ./with is compared with both.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/zalando/go-keyring"
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
	var data []byte
	// TERMAUTH_NO_KEYRING (set by run.sh) stands for "no keyring here": the file is read,
	// as termauth's file store is; the keyring client is linked either way.
	if os.Getenv("TERMAUTH_NO_KEYRING") == "" {
		if s, err := keyring.Get("bench", "cli"); err == nil {
			data = []byte(s)
		}
	}
	if data == nil {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			panic(err)
		}
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
