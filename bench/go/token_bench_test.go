// Benchmarks (not tests): run with bench/go/run.sh, or
//
//	cd bench/go && GOFLAGS=-mod=mod go test -run '^$' -bench . -benchmem
package bench

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
	"golang.org/x/oauth2"
)

// A stored API-key-free OAuth credential that is valid for an hour, in a temp file store.
func cachedClient(b *testing.B) *termauth.Client {
	c, _ := cachedClientIn(b)
	return c
}

func cachedClientIn(b *testing.B) (*termauth.Client, string) {
	dir := b.TempDir()
	os.Setenv("TERMAUTH_NO_KEYRING", "1")
	c, err := termauth.New(termauth.Config{App: "bench", Issuer: "https://as.example.com", ClientID: "cli",
		ConfigDir: dir, Store: termauth.StoreFile, Stderr: nopWriter{}})
	if err != nil {
		b.Fatal(err)
	}
	// An API key login stores a credential without the network; Token() then takes the
	// same cached path as an unexpired OAuth token (read record → decide "use").
	if _, err := c.Login(context.Background(), termauth.Token("at-0123456789abcdef0123456789abcdef")); err != nil {
		b.Fatal(err)
	}
	return c, dir
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// Client.Token: every call reads the store through cgo (file read + record check +
// lifecycle decision in Rust), as a CLI's first call in a process does.
func BenchmarkTokenThroughCgo(b *testing.B) {
	c := cachedClient(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// Client.TokenSource: oauth2.ReuseTokenSource over termauth; after the first call the
// token is served from memory until termauth would renew it.
func BenchmarkTokenSourceCached(b *testing.B) {
	c := cachedClient(b)
	ts := c.TokenSource(context.Background())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// The baseline a Go programmer would otherwise write: oauth2.ReuseTokenSource over a
// static token.
func BenchmarkReuseTokenSourceStatic(b *testing.B) {
	ts := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{
		AccessToken: "at-0123456789abcdef0123456789abcdef", TokenType: "Bearer",
		// The same Expiry shape as termauth's (wall clock only, no monotonic reading).
		Expiry: time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())}))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// The file-read baseline for BenchmarkTokenThroughCgo: what a Go CLI on x/oauth2 does to
// get its stored token at each start, doing the same IO as termauth's Token() (strace: open,
// fstat and read of profiles.json, then of the credential): open, stat (the permission
// check), read and JSON-decode both files, build an oauth2.Token and check Valid() (which
// reads the clock, as termauth does).
func BenchmarkOAuth2FileRead(b *testing.B) {
	_, dir := cachedClientIn(b)
	creds, err := filepath.Glob(filepath.Join(dir, "credentials", "*.json"))
	if err != nil || len(creds) != 1 {
		b.Fatalf("credential file: %v %v", creds, err)
	}
	profiles, cred := filepath.Join(dir, "profiles.json"), creds[0]
	read := func(path string, v any) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || st.Mode().Perm()&0o077 != 0 {
			b.Fatalf("%s: %v %v", path, st.Mode(), err)
		}
		data, err := io.ReadAll(f)
		if err != nil || json.Unmarshal(data, v) != nil {
			b.Fatalf("%s: %v", path, err)
		}
	}
	expiry := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var p struct {
			Active map[string]string `json:"active"`
		}
		read(profiles, &p)
		var r struct {
			Key          string         `json:"key"`
			Presentation map[string]any `json:"presentation"`
		}
		read(cred, &r)
		tok := &oauth2.Token{AccessToken: r.Key, TokenType: "Bearer", Expiry: expiry}
		if len(p.Active) == 0 || !tok.Valid() {
			b.Fatal("no token")
		}
	}
}
