// Package termauth logs a person or a machine in from a Go CLI — device flow, browser
// (loopback + PKCE), pasted redirect, client credentials, password, API keys — and keeps
// the tokens fresh, over the same Rust core (libtermauth, through cgo) as every other
// termauth language.
//
// The flows are sans-IO: this package sends their requests with net/http (so Go's proxy
// and TLS settings apply, or your own *http.Client), runs the loopback listener with
// net/http, and stores credentials through the library, in the same keyring entries and
// files (with the same lock) as the Rust, Python and Node packages.
//
//	c, err := termauth.New(termauth.Config{App: "mycli", Issuer: "https://login.example.com", ClientID: "mycli"})
//	if _, err := c.Login(ctx, termauth.Device); err != nil { … }
//	tok, err := c.Token(ctx)                       // cached; refreshed under the lock when due
//	httpClient := oauth2.NewClient(ctx, c.TokenSource(ctx))
package termauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// StorePreference says where credentials go.
type StorePreference uint32

const (
	// StoreAuto: the OS keyring when it works, else a 0600 file (the reason is reported).
	StoreAuto StorePreference = 0
	// StoreKeyring: only the keyring.
	StoreKeyring StorePreference = 1
	// StoreFile: only the file store (explicit opt-in).
	StoreFile StorePreference = 2
)

// UserCode is what the device flow asks the user to do.
type UserCode struct {
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete,omitempty"`
	ExpiresAt               int64  `json:"expires_at"`
}

// Config configures a Client. App, Issuer and ClientID are required.
type Config struct {
	App      string // config directory, keyring service, <APP>_TOKEN / <APP>_CLIENT_SECRET
	Issuer   string
	ClientID string
	Scope    string
	// ClientSecret for confidential clients; else <APP>_CLIENT_SECRET, then TERMAUTH_CLIENT_SECRET.
	ClientSecret string
	// SecretMethod: "basic" (default) or "post".
	SecretMethod string
	// Profile: the account to use; the active one (else "default") when empty.
	Profile string
	Store   StorePreference
	// ConfigDir overrides the platform config directory (and <APP>_CONFIG_DIR).
	ConfigDir string
	// Metadata is server metadata written by hand (JSON); discovery otherwise.
	Metadata json.RawMessage
	// Loopback redirect for Browser: host (default 127.0.0.1), port (0 = random), path (default /callback).
	RedirectHost string
	RedirectPort int
	RedirectPath string
	// RedirectURI for Paste (default http://127.0.0.1:8400/callback).
	RedirectURI string
	// Resource indicators (RFC 8707).
	Resource []string
	// AllowInsecureHTTP allows http:// endpoints on non-loopback hosts (tests only).
	AllowInsecureHTTP bool
	// EnablePasswordGrant allows the legacy password grant.
	EnablePasswordGrant bool
	// RefreshSkew: renew this long before expiry (default 60 s).
	RefreshSkew time.Duration
	// HTTPClient sends every request (default: a client with a 30 s timeout that follows
	// no redirects; proxies from the environment).
	HTTPClient *http.Client
	// ShowUserCode shows the device code (default: two lines on Stderr).
	ShowUserCode func(UserCode)
	// OpenBrowser opens the authorization URL (default: print it on Stderr). For Browser it
	// must not block until the redirect arrives.
	OpenBrowser func(url string) error
	// ReadRedirect returns the URL the user pastes (Paste; default: a line from stdin).
	ReadRedirect func(ctx context.Context) (string, error)
	// Stderr receives prompts and warnings (default os.Stderr).
	Stderr io.Writer
}

// String redacts ClientSecret, so printing a Config (or a Client) with %v shows no secret.
func (cfg Config) String() string {
	redacted := cfg
	if redacted.ClientSecret != "" {
		redacted.ClientSecret = "***"
	}
	type plain Config // no String method: avoids recursion
	return fmt.Sprintf("%+v", plain(redacted))
}

// GoString is String for %#v.
func (cfg Config) GoString() string { return cfg.String() }

// String describes the client without its configuration's secrets.
func (c *Client) String() string {
	return fmt.Sprintf("termauth.Client(app=%s issuer=%s client_id=%s)", c.cfg.App, c.cfg.Issuer, c.cfg.ClientID)
}

// GoString is String for %#v.
func (c *Client) GoString() string { return c.String() }

// String names the method; a password or token is never printed.
func (m Method) String() string { return m.name }

// GoString is String for %#v.
func (m Method) GoString() string { return "termauth.Method(" + m.name + ")" }

// Method is a login method: Device, Browser, Paste, ClientCredentials, Password(…), Token(…).
type Method struct {
	name         string
	username     string
	password     string
	token        string
	presentation json.RawMessage
}

var (
	// Device is the RFC 8628 device flow.
	Device = Method{name: "device"}
	// Browser opens a browser and receives the redirect on a loopback listener (RFC 8252).
	Browser = Method{name: "browser"}
	// Paste is for a browser on another machine: the user pastes the redirected URL.
	Paste = Method{name: "paste"}
	// ClientCredentials is the machine login (needs a client secret).
	ClientCredentials = Method{name: "client_credentials"}
)

// Password is the legacy resource owner password grant (needs EnablePasswordGrant).
func Password(username, password string) Method {
	return Method{name: "password", username: username, password: password}
}

// Token stores an API key / personal access token, sent as `Authorization: Bearer`.
func Token(token string) Method {
	return Method{name: "token", token: token}
}

// TokenInHeader stores an API key sent in a named header with a prefix (e.g. "X-API-Key", "").
func TokenInHeader(token, header, prefix string) Method {
	p, _ := json.Marshal(map[string]string{"scheme": "header", "name": header, "prefix": prefix})
	return Method{name: "token", token: token, presentation: p}
}

// StoreChoice says which store holds a credential, and why.
type StoreChoice struct {
	Store  string `json:"store"`
	Reason string `json:"reason"`
}

// LoginReport is what Login did.
type LoginReport struct {
	Method    string       `json:"method"`
	Profile   string       `json:"profile"`
	Store     *StoreChoice `json:"store"`
	Scope     string       `json:"scope,omitempty"`
	ExpiresAt int64        `json:"expires_at,omitempty"`
}

// LogoutReport is what Logout did.
type LogoutReport struct {
	Removed bool   `json:"removed"`
	Revoked bool   `json:"revoked"`
	Note    string `json:"note,omitempty"`
}

// Status says where Token's token comes from and its state (no secrets).
type Status struct {
	Source      string       `json:"source"` // env, store or none
	EnvVar      string       `json:"env_var"`
	Profile     string       `json:"profile"`
	Issuer      string       `json:"issuer"`
	ClientID    string       `json:"client_id"`
	Store       *StoreChoice `json:"store,omitempty"`
	Kind        string       `json:"kind,omitempty"`  // oauth or api_key
	Grant       string       `json:"grant,omitempty"` // device_code, authorization_code, …
	Scope       string       `json:"scope,omitempty"`
	ExpiresAt   int64        `json:"expires_at,omitempty"`
	Refreshable bool         `json:"refreshable"`
	Decision    string       `json:"decision,omitempty"` // use, refresh, reacquire, relogin
	Error       *Error       `json:"error,omitempty"`
}

// Client logs in and hands out tokens. It is safe for concurrent use.
type Client struct {
	cfg   Config
	store *store
	http  *http.Client

	mu       sync.Mutex
	metadata json.RawMessage
	clock    func() int64 // nil: time.Now (tests move it to make tokens due)
}

// New makes a client. It does no network IO.
func New(cfg Config) (*Client, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	if cfg.App == "" || cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, usageError("invalid_client_config", "termauth.Config needs App, Issuer and ClientID.")
	}
	if cfg.ClientSecret == "" {
		for _, v := range []string{envName(cfg.App, "CLIENT_SECRET"), "TERMAUTH_CLIENT_SECRET"} {
			if s := os.Getenv(v); s != "" {
				cfg.ClientSecret = s
				break
			}
		}
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	st, err := openStore(cfg.App, cfg.ConfigDir, cfg.Store)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	c := &Client{cfg: cfg, store: st, http: hc, metadata: cfg.Metadata}
	return c, nil
}

// Close releases the library handles now (a finalizer does it otherwise).
func (c *Client) Close() error {
	c.store.free()
	return nil
}

func envName(app, suffix string) string {
	r := strings.NewReplacer("-", "_", ".", "_", " ", "_")
	return r.Replace(strings.ToUpper(app)) + "_" + suffix
}

// nowMs is the client's wall clock (Unix ms); tests move it.
func (c *Client) nowMs() int64 {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now().UnixMilli()
}

func (c *Client) skewMs() int64 { return c.cfg.RefreshSkew.Milliseconds() }

// profile: the configured one, else the active one, else "default".
func (c *Client) profile() (string, error) {
	if c.cfg.Profile != "" {
		return c.cfg.Profile, nil
	}
	p, err := c.store.activeProfile(c.cfg.Issuer, c.cfg.ClientID)
	if err != nil {
		return "", err
	}
	if p == "" {
		p = "default"
	}
	return p, nil
}

func (c *Client) key() (credKey, error) {
	p, err := c.profile()
	return credKey{issuer: c.cfg.Issuer, clientID: c.cfg.ClientID, profile: p}, err
}

func (c *Client) clientJSON() map[string]any {
	m := map[string]any{"client_id": c.cfg.ClientID}
	if c.cfg.ClientSecret != "" {
		method := "client_secret_basic"
		if c.cfg.SecretMethod == "post" {
			method = "client_secret_post"
		}
		m["auth"] = map[string]any{"method": method, "client_secret": c.cfg.ClientSecret}
	}
	return m
}

// spec builds a FlowSpec JSON: the flow's own members plus server, client and the common ones.
func (c *Client) spec(ctx context.Context, flow string, members map[string]any) ([]byte, error) {
	m := map[string]any{"flow": flow, "allow_insecure_http": c.cfg.AllowInsecureHTTP}
	if flow != "api_key" {
		meta, err := c.serverMetadata(ctx)
		if err != nil {
			return nil, err
		}
		m["server"] = meta
		m["client"] = c.clientJSON()
	} else {
		delete(m, "allow_insecure_http")
	}
	for k, v := range members {
		m[k] = v
	}
	return json.Marshal(m)
}

// serverMetadata: configured, cached in memory, cached on disk for a day (the same file the
// Rust driver writes: <config dir>/metadata/<key>.json), or discovered.
func (c *Client) serverMetadata(ctx context.Context) (json.RawMessage, error) {
	c.mu.Lock()
	meta := c.metadata
	c.mu.Unlock()
	if meta != nil {
		return meta, nil
	}
	sum := sha256.Sum256([]byte(c.cfg.Issuer + "\n"))
	path := filepath.Join(c.store.dir(), "metadata", hex.EncodeToString(sum[:8])+".json")
	var cached struct {
		FetchedAt int64           `json:"fetched_at"`
		Metadata  json.RawMessage `json:"metadata"`
	}
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &cached) == nil && c.nowMs()-cached.FetchedAt < 86_400_000 {
		var iss struct {
			Issuer string `json:"issuer"`
		}
		if json.Unmarshal(cached.Metadata, &iss) == nil && iss.Issuer == c.cfg.Issuer {
			c.mu.Lock()
			c.metadata = cached.Metadata
			c.mu.Unlock()
			return cached.Metadata, nil
		}
	}
	spec, _ := json.Marshal(map[string]any{"flow": "discovery", "issuer": c.cfg.Issuer, "allow_insecure_http": c.cfg.AllowInsecureHTTP})
	result, err := c.run(ctx, spec, nil, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(result, &out); err != nil || out.Metadata == nil {
		return nil, usageError("internal_error", "Discovery did not return metadata.")
	}
	if b, err := json.Marshal(map[string]any{"fetched_at": c.nowMs(), "metadata": out.Metadata}); err == nil {
		_ = writeFileAtomic(path, b)
	}
	c.mu.Lock()
	c.metadata = out.Metadata
	c.mu.Unlock()
	return out.Metadata, nil
}

// writeFileAtomic writes like the Rust store: a temporary file with a random name created
// exclusively (never following an existing file or symlink), fsynced, then renamed.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// Login logs in with m and stores the credential under the current profile (which becomes
// the active one). Cancel ctx to stop a login that waits for the user.
func (c *Client) Login(ctx context.Context, m Method) (*LoginReport, error) {
	key, err := c.key()
	if err != nil {
		return nil, err
	}
	var spec []byte
	var redirects *redirectSource
	switch m.name {
	case "token":
		pres := m.presentation
		if pres == nil {
			pres = json.RawMessage(`{"scheme":"bearer"}`)
		}
		spec, err = c.spec(ctx, "api_key", map[string]any{"key": m.token, "presentation": pres})
	case "device":
		spec, err = c.spec(ctx, "device", c.scoped(nil))
	case "browser":
		redirects, err = c.listen()
		if err != nil {
			return nil, err
		}
		defer redirects.close()
		spec, err = c.spec(ctx, "authorization_code", c.scoped(map[string]any{
			"redirect_port": redirects.port, "redirect_host": redirects.host, "redirect_path": c.redirectPath()}))
	case "paste":
		redirects = &redirectSource{paste: true}
		members := map[string]any{"redirect_port": 8400, "redirect_path": c.redirectPath()}
		if c.cfg.RedirectPort != 0 {
			members["redirect_port"] = c.cfg.RedirectPort
		}
		if c.cfg.RedirectURI != "" {
			members["redirect_uri"] = c.cfg.RedirectURI
		}
		spec, err = c.spec(ctx, "authorization_code", c.scoped(members))
	case "client_credentials":
		spec, err = c.clientCredentialsSpec(ctx)
	case "password":
		spec, err = c.spec(ctx, "password", c.scopedNoResource(map[string]any{
			"username": m.username, "password": m.password, "enable_password_grant": c.cfg.EnablePasswordGrant}))
	default:
		return nil, usageError("invalid_method", "Unknown login method.")
	}
	if err != nil {
		return nil, err
	}
	var choice *StoreChoice
	// A login takes the credential's lock only to write: a process refreshing the
	// previous session under the lock must not overwrite the new login.
	persist := func(cred string) error {
		lock, err := c.store.lock(key)
		if err != nil {
			return err
		}
		defer lock.release()
		ch, err := c.store.save(key, cred)
		choice = ch
		return err
	}
	result, err := c.run(ctx, spec, persist, redirects)
	if err != nil {
		return nil, err
	}
	if choice == nil {
		return nil, usageError("internal_error", "The login produced no credential to store.")
	}
	if choice.Store == "file" && c.cfg.Store == StoreAuto {
		fmt.Fprintf(c.cfg.Stderr, "warning: credential %s\n", choice.Reason)
	}
	if err := c.store.setActiveProfile(key); err != nil {
		return nil, err
	}
	report := &LoginReport{Method: m.name, Profile: key.profile, Store: choice}
	var out struct {
		Tokens struct {
			Scope     string `json:"scope"`
			ExpiresAt int64  `json:"expires_at"`
		} `json:"tokens"`
	}
	if json.Unmarshal(result, &out) == nil {
		report.Scope, report.ExpiresAt = out.Tokens.Scope, out.Tokens.ExpiresAt
	}
	return report, nil
}

func (c *Client) redirectPath() string {
	if c.cfg.RedirectPath != "" {
		return c.cfg.RedirectPath
	}
	return "/callback"
}

func (c *Client) scopedNoResource(m map[string]any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	if c.cfg.Scope != "" {
		m["scope"] = c.cfg.Scope
	}
	return m
}

func (c *Client) scoped(m map[string]any) map[string]any {
	m = c.scopedNoResource(m)
	if len(c.cfg.Resource) > 0 {
		m["resource"] = c.cfg.Resource
	}
	return m
}

func (c *Client) clientCredentialsSpec(ctx context.Context) ([]byte, error) {
	if c.cfg.ClientSecret == "" {
		return nil, usageError("missing_client_secret", fmt.Sprintf(
			"Client credentials need a client secret: set %s or TERMAUTH_CLIENT_SECRET (never pass it on the command line).",
			envName(c.cfg.App, "CLIENT_SECRET")))
	}
	return c.spec(ctx, "client_credentials", c.scoped(nil))
}

// envToken is <APP>_TOKEN, when set.
func (c *Client) envToken() string {
	return strings.TrimSpace(os.Getenv(envName(c.cfg.App, "TOKEN")))
}

// credential is the part of a stored record this package reads.
type credential struct {
	Kind   string `json:"kind"`
	Grant  string `json:"grant"`
	Key    string `json:"key"`
	Tokens *struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresAt    int64  `json:"expires_at"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
	} `json:"tokens"`
}

func parseCredential(text string) (*credential, error) {
	var cr credential
	if err := json.Unmarshal([]byte(text), &cr); err != nil {
		return nil, &Error{Kind: "storage", Code: "credential_corrupt", Hint: HintReauthenticate, Message: "The stored credential is not a valid termauth record."}
	}
	return &cr, nil
}

func (cr *credential) secret() string {
	if cr.Kind == "api_key" {
		return cr.Key
	}
	if cr.Tokens != nil {
		return cr.Tokens.AccessToken
	}
	return ""
}

func (c *Client) notLoggedIn() error {
	return &Error{Kind: "storage", Code: "not_logged_in", Hint: HintReauthenticate,
		Message: fmt.Sprintf("Not logged in. Run `%s login` first.", c.cfg.App)}
}

func relogin(reason string) error {
	return &Error{Kind: "storage", Code: "login_required", Hint: HintReauthenticate, Message: reason}
}

// Token returns a valid access token (or API key): <APP>_TOKEN when set; else the stored
// credential, renewed under its cross-process lock when due, exactly as the Rust driver
// does (lock → re-read → decide → renew → write; on invalid_grant, re-read once).
func (c *Client) Token(ctx context.Context) (string, error) {
	if t := c.envToken(); t != "" {
		return t, nil
	}
	text, err := c.freshCredential(ctx, false)
	if err != nil {
		return "", err
	}
	cr, err := parseCredential(text)
	if err != nil {
		return "", err
	}
	return cr.secret(), nil
}

// Refresh renews the stored credential now, whatever its expiry.
func (c *Client) Refresh(ctx context.Context) error {
	_, err := c.freshCredential(ctx, true)
	return err
}

func (c *Client) freshCredential(ctx context.Context, force bool) (string, error) {
	key, err := c.key()
	if err != nil {
		return "", err
	}
	text, _, err := c.store.load(key)
	if err != nil {
		return "", err
	}
	if text == "" {
		return "", c.notLoggedIn()
	}
	d, err := decide(text, c.nowMs(), c.skewMs())
	if err != nil {
		return "", err
	}
	switch {
	case d.Decision == "use" && !force:
		return text, nil
	case d.Decision == "relogin":
		return "", relogin(d.Reason)
	}
	lock, err := c.store.lock(key)
	if err != nil {
		return "", err
	}
	defer lock.release()
	// Re-read after locking: another process may have renewed it while we waited.
	before := text
	text, _, err = c.store.load(key)
	if err != nil {
		return "", err
	}
	if text == "" {
		return "", c.notLoggedIn()
	}
	if d, err = decideLocked(before, text, c.nowMs(), c.skewMs(), force); err != nil {
		return "", err
	}
	persist := func(cred string) error { _, err := c.store.save(key, cred); return err }
	switch d.Decision {
	case "use":
		return text, nil
	case "relogin":
		return "", relogin(d.Reason)
	case "refresh":
		var spec []byte
		// No scope: the core asks for the granted one again (as the Rust driver does).
		members := map[string]any{"credential": json.RawMessage(text)}
		if len(c.cfg.Resource) > 0 {
			members["resource"] = c.cfg.Resource
		}
		spec, err = c.spec(ctx, "refresh", members)
		if err == nil {
			_, err = c.run(ctx, spec, persist, nil)
		}
	case "reacquire":
		var spec []byte
		spec, err = c.clientCredentialsSpec(ctx)
		if err == nil {
			_, err = c.run(ctx, spec, persist, nil)
		}
	}
	if err == nil {
		again, _, err := c.store.load(key)
		if err != nil {
			return "", err
		}
		if again == "" {
			return "", c.notLoggedIn()
		}
		return again, nil
	}
	var te *Error
	if !errors.As(err, &te) {
		return "", err
	}
	// RFC 6749 §10.4 rotation: a process that does not honour the lock may have rotated the
	// refresh token first; the record then holds the new one. Re-read once.
	if te.Kind == "oauth" && te.Code == "invalid_grant" {
		if again, _, lerr := c.store.load(key); lerr == nil && again != "" {
			if renewed, _ := renewedElsewhere(text, again, c.nowMs()); renewed {
				return again, nil
			}
		}
	}
	after, aerr := afterRenewalFailure(text, te, c.nowMs())
	if aerr != nil {
		return "", aerr
	}
	switch after.Decision {
	case "use":
		fmt.Fprintf(c.cfg.Stderr, "warning: could not renew the token (%s); using the current one until it expires\n", te.Message)
		return text, nil
	case "relogin":
		return "", relogin(after.Reason)
	}
	return "", err
}

// Logout revokes the stored tokens at the server (refresh token first, RFC 7009), then
// deletes the credential. Offline, it still deletes and says the tokens were not revoked.
func (c *Client) Logout(ctx context.Context) (*LogoutReport, error) {
	key, err := c.key()
	if err != nil {
		return nil, err
	}
	lock, err := c.store.lock(key)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	report := &LogoutReport{}
	text, _, lerr := c.store.load(key)
	switch {
	case lerr != nil:
		report.Note = fmt.Sprintf("The stored credential was unreadable (%s); it was deleted.", lerr.Error())
	case text != "":
		cr, _ := parseCredential(text)
		if cr != nil && cr.Kind == "oauth" && cr.Tokens != nil {
			var list []map[string]string
			if cr.Tokens.RefreshToken != "" {
				list = append(list, map[string]string{"token": cr.Tokens.RefreshToken, "token_type_hint": "refresh_token"})
			}
			list = append(list, map[string]string{"token": cr.Tokens.AccessToken, "token_type_hint": "access_token"})
			spec, err := c.spec(ctx, "revocation", map[string]any{"tokens": list})
			if err == nil {
				_, err = c.run(ctx, spec, nil, nil)
			}
			if err != nil {
				report.Note = "The tokens were deleted here but not revoked at the server: " + err.Error()
			} else {
				report.Revoked = true
			}
		} else if cr != nil && cr.Kind == "api_key" {
			report.Note = "The API key was deleted here; it is still valid at the server until you revoke it there."
		}
	}
	removed, err := c.store.delete(key)
	if err != nil {
		return nil, err
	}
	report.Removed = removed
	return report, nil
}

// Status says which token Token would use, from where, and in what state.
func (c *Client) Status() *Status {
	profile, err := c.profile()
	if err != nil {
		profile = "default"
	}
	s := &Status{Source: "none", EnvVar: envName(c.cfg.App, "TOKEN"), Profile: profile, Issuer: c.cfg.Issuer, ClientID: c.cfg.ClientID}
	if c.envToken() != "" {
		s.Source = "env"
		return s
	}
	text, choice, err := c.store.load(credKey{issuer: c.cfg.Issuer, clientID: c.cfg.ClientID, profile: profile})
	if err != nil {
		errors.As(err, &s.Error)
		return s
	}
	if text == "" {
		return s
	}
	s.Source, s.Store = "store", choice
	cr, err := parseCredential(text)
	if err != nil {
		errors.As(err, &s.Error)
		return s
	}
	s.Kind = cr.Kind
	if cr.Kind == "oauth" && cr.Tokens != nil {
		s.Grant, s.Scope, s.ExpiresAt = cr.Grant, cr.Tokens.Scope, cr.Tokens.ExpiresAt
		s.Refreshable = cr.Tokens.RefreshToken != "" || (cr.Grant == "client_credentials" && c.cfg.ClientSecret != "")
	}
	if d, err := decide(text, c.nowMs(), c.skewMs()); err == nil {
		s.Decision = d.Decision
	}
	return s
}
