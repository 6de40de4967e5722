// Package termauth logs a person or a machine in from a Go CLI — chosen from where it runs
// (Auto), device flow, browser (loopback + PKCE), pasted redirect, client credentials,
// password, API keys — and keeps the tokens fresh, over the same Rust core (libtermauth,
// through cgo) as every other termauth language.
//
// Each call runs one session of the core, which makes every decision and writes every
// sentence shown; this package executes what it asks: HTTP with net/http (Go's proxy and
// TLS settings, or your *http.Client), the loopback listener with net/http, a browser,
// the terminal. Credentials, locks and the keyring are the library's, so they are the same
// files and entries as the Rust CLI's and the Python and Node packages'.
//
//	c, err := termauth.New(termauth.Config{App: "mycli", Issuer: "https://login.example.com", ClientID: "mycli"})
//	if _, err := c.Login(ctx, termauth.Auto); err != nil { os.Exit(termauth.ExitCode(err)) }
//	tok, err := c.Token(ctx)                       // cached; refreshed under the lock when due
//	httpClient := oauth2.NewClient(ctx, c.TokenSource(ctx))
package termauth
