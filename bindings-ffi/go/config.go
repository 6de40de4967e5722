package termauth

// What a Client is configured with, and the login methods, as the session's JSON.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// StorePreference says where credentials go: "" or StoreAuto (the OS keyring when it
// works, else a 0600 file, with a warning that says why), StoreKeyring, StoreFile.
type StorePreference string

// The store preferences.
const (
	StoreAuto    StorePreference = "auto"
	StoreKeyring StorePreference = "keyring"
	StoreFile    StorePreference = "file"
)

// Config configures a Client. App, Issuer and ClientID are required.
type Config struct {
	App          string // config directory, keyring service, <APP>_TOKEN / <APP>_CLIENT_SECRET
	Issuer       string
	ClientID     string
	Scope        string
	ClientSecret string // else <APP>_CLIENT_SECRET, then TERMAUTH_CLIENT_SECRET
	SecretMethod string // "basic" (default) or "post"
	Profile      string // the account; the active one (else "default") when empty
	Store        StorePreference
	ConfigDir    string          // overrides the platform's config directory and <APP>_CONFIG_DIR
	Metadata     json.RawMessage // server metadata written by hand; discovery (cached a day) otherwise
	// The loopback redirect of a browser login: host (default 127.0.0.1), port (0: any;
	// fix it for ssh -L), path (default /callback); RedirectURI for Paste.
	RedirectHost        string
	RedirectPort        int
	RedirectPath        string
	RedirectURI         string
	Resource            []string // RFC 8707 resource indicators
	AllowInsecureHTTP   bool     // http:// endpoints on non-loopback hosts (tests only)
	EnablePasswordGrant bool
	RefreshSkew         time.Duration // renew this long before expiry (default 60 s)
	RedirectTimeout     time.Duration // how long a browser login waits (default 5 min)
	LockWait            time.Duration // how long to wait for another process's lock (default 150 s)
	NoBrowser           bool          // never open a browser; print the URL only
	// Debug traces every HTTP exchange on Stderr, tokens and secrets redacted (as
	// TERMAUTH_DEBUG=1 does).
	Debug bool
	// RequestTimeout is the overall deadline of each HTTP request: connecting, sending, the
	// response's headers and its body together (zero: DefaultRequestTimeout, 30 s, the Go
	// convention for an unset field; negative: New fails with an *Error of Code
	// "invalid_timeout", as the other languages refuse zero or a negative deadline). A server
	// still answering when it passes fails the command with an *Error of Kind "transport"
	// (timed out, HintRetryLater, ExitCode 4). It applies to HTTPClient too.
	RequestTimeout time.Duration

	HTTPClient *http.Client // sends every request (default: proxies from the environment, no redirects)
	Stderr     io.Writer    // prompts, progress and notices (default os.Stderr; io.Discard: silent)
	Stdin      io.Reader    // where Paste reads the address (default os.Stdin)
	// NoSignalHandling leaves SIGINT alone. By default, while a command runs, the first
	// Ctrl-C cancels it (it fails with ErrCancelled) and a second exits with status 130.
	NoSignalHandling bool
	// Optional hooks for a custom UI, each replacing the default: the device code, the
	// authorization URL (shown when no browser opens it), opening a browser (whether one started).
	ShowUserCode         func(UserCode)
	ShowAuthorizationURL func(url string)
	OpenBrowser          func(url string) bool
}

// String redacts ClientSecret, so printing a Config (or a Client) with %v shows no secret.
func (cfg Config) String() string {
	if cfg.ClientSecret != "" {
		cfg.ClientSecret = "***"
	}
	type plain Config // no String method: avoids recursion
	return fmt.Sprintf("%+v", plain(cfg))
}

// GoString is String for %#v.
func (cfg Config) GoString() string { return cfg.String() }

// Method is a login method: Auto, Device, Browser, Paste, ClientCredentials, Password(…), Token(…).
type Method struct {
	command map[string]any
}

func method(name string, members ...any) Method {
	m := map[string]any{"op": "login", "method": name}
	for i := 0; i+1 < len(members); i += 2 {
		m[members[i].(string)] = members[i+1]
	}
	return Method{command: m}
}

var (
	// Auto chooses from where the CLI runs: CI → client credentials; desktop → browser;
	// SSH or no display → device; paste when the server has no device endpoint.
	Auto = method("auto")
	// Device is the RFC 8628 device flow (the browser when the server has none).
	Device = method("device")
	// Browser opens a browser and receives the redirect on a loopback listener (RFC 8252).
	Browser = method("browser")
	// Paste is for a browser on another machine: the user pastes the address it ends on.
	Paste = method("paste")
	// ClientCredentials is the machine login (needs a client secret).
	ClientCredentials = method("client_credentials")
)

// Password is the legacy resource owner password grant (needs EnablePasswordGrant).
func Password(username, password string) Method {
	return method("password", "username", username, "password", password)
}

// Token stores an API key / personal access token, sent as `Authorization: Bearer`.
func Token(token string) Method { return method("token", "token", token) }

// TokenInHeader stores an API key sent in a named header with a prefix (e.g. "X-API-Key", "").
func TokenInHeader(token, header, prefix string) Method {
	return method("token", "token", token, "presentation", map[string]string{"scheme": "header", "name": header, "prefix": prefix})
}

// String names the method; a password or token is never printed.
func (m Method) String() string { return fmt.Sprint(m.command["method"]) }

// GoString is String for %#v.
func (m Method) GoString() string { return "termauth.Method(" + m.String() + ")" }

// sessionConfig is the session's `config` for cfg, client secret included.
func sessionConfig(cfg *Config) map[string]any {
	m := map[string]any{"app": cfg.App, "issuer": cfg.Issuer, "client_id": cfg.ClientID}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("scope", cfg.Scope, cfg.Scope != "")
	set("client_secret", cfg.ClientSecret, cfg.ClientSecret != "")
	set("secret_method", cfg.SecretMethod, cfg.SecretMethod != "")
	set("profile", cfg.Profile, cfg.Profile != "")
	set("store", cfg.Store, cfg.Store != "")
	set("config_dir", cfg.ConfigDir, cfg.ConfigDir != "")
	set("metadata", cfg.Metadata, cfg.Metadata != nil)
	set("redirect_host", cfg.RedirectHost, cfg.RedirectHost != "")
	set("redirect_port", cfg.RedirectPort, cfg.RedirectPort != 0)
	set("redirect_path", cfg.RedirectPath, cfg.RedirectPath != "")
	set("redirect_uri", cfg.RedirectURI, cfg.RedirectURI != "")
	set("resource", cfg.Resource, len(cfg.Resource) > 0)
	set("allow_insecure_http", true, cfg.AllowInsecureHTTP)
	set("enable_password_grant", true, cfg.EnablePasswordGrant)
	set("refresh_skew_ms", cfg.RefreshSkew.Milliseconds(), cfg.RefreshSkew > 0)
	set("redirect_timeout_ms", cfg.RedirectTimeout.Milliseconds(), cfg.RedirectTimeout > 0)
	set("lock_wait_ms", cfg.LockWait.Milliseconds(), cfg.LockWait > 0)
	set("launch_browser", false, cfg.NoBrowser)
	set("debug", true, cfg.Debug)
	return m
}

// String describes the client without its configuration's secrets.
func (c *Client) String() string {
	return fmt.Sprintf("termauth.Client(app=%s issuer=%s client_id=%s)", c.cfg.App, c.cfg.Issuer, c.cfg.ClientID)
}

// GoString is String for %#v.
func (c *Client) GoString() string { return c.String() }

// Close is a no-op kept for callers that defer it: the configuration the library holds
// for the Client is freed when the Client is garbage collected.
func (c *Client) Close() error { return nil }
