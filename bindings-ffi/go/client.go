package termauth

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"time"
)

// Client runs commands. It is safe for concurrent use (each call is its own session).
type Client struct {
	cfg Config // without ClientSecret
	// The session configuration, parsed and checked once by the library, which keeps the
	// client secret: a Client value never holds it (fmt prints unexported fields raw).
	config         *prepared
	http           *http.Client
	requestTimeout time.Duration // Config.RequestTimeout, or DefaultRequestTimeout
	stdin          lines
}

// New makes a client; the core checks the configuration. It does no network IO.
func New(cfg Config) (*Client, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	if cfg.RequestTimeout < 0 {
		return nil, &Error{Kind: "usage", Code: "invalid_timeout", Hint: HintFixConfiguration,
			Message: "`RequestTimeout` must be a positive duration, or zero for the default (30 s)."}
	}
	config, _ := json.Marshal(sessionConfig(&cfg)) // strings, numbers and maps of them: it cannot fail
	prepared, err := prepareConfig(config)
	wipe(config) // it held the client secret
	if err != nil {
		return nil, err
	}
	cfg.ClientSecret = ""
	c := &Client{cfg: cfg, config: prepared, http: cfg.HTTPClient, requestTimeout: cfg.RequestTimeout}
	if c.requestTimeout == 0 {
		c.requestTimeout = DefaultRequestTimeout
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	} else {
		c.http = withoutRedirects(c.http)
	}
	return c, nil
}

// call runs command and decodes its outcome.
func call[T any](ctx context.Context, c *Client, command map[string]any) (*T, error) {
	out := new(T)
	if err := c.run(ctx, command, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Login logs in with m and stores the credential under the profile (which becomes the
// active one). Ctrl-C or ctx stops a login that waits for the user.
func (c *Client) Login(ctx context.Context, m Method) (*LoginReport, error) {
	return call[LoginReport](ctx, c, m.command)
}

// Token returns a valid access token (or API key): <APP>_TOKEN when set; else the stored
// credential, renewed under its cross-process lock when due.
func (c *Client) Token(ctx context.Context) (string, error) {
	var r TokenReport
	if err := c.start(ctx, getToken, &r, true); err != nil {
		return "", err
	}
	return r.Token, nil
}

var getToken = []byte(`{"op":"get_token"}`)

// TokenReport is Token with where the token came from, its header and its expiry.
func (c *Client) TokenReport(ctx context.Context) (*TokenReport, error) {
	return call[TokenReport](ctx, c, map[string]any{"op": "get_token"})
}

// TokenFor is an access token limited to scope and/or for resource (RFC 8707; either may be
// empty), got by a refresh of the stored grant and not stored: the stored token stays the
// login's. Errors: scope_not_granted when the login's grant does not cover scope,
// scoped_token_needs_refresh without a refresh token.
func (c *Client) TokenFor(ctx context.Context, scope string, resource ...string) (*TokenReport, error) {
	command := map[string]any{"op": "get_token"}
	if scope != "" {
		command["scope"] = scope
	}
	if len(resource) > 0 {
		command["resource"] = resource
	}
	return call[TokenReport](ctx, c, command)
}

// Refresh renews the stored credential now, whatever its expiry; a refused renewal is an
// error even while the current token is still valid.
func (c *Client) Refresh(ctx context.Context) (*TokenReport, error) {
	return call[TokenReport](ctx, c, map[string]any{"op": "refresh"})
}

// Logout revokes the stored tokens at the server (refresh token first, RFC 7009), then
// deletes the credential. Offline, it still deletes and says the tokens were not revoked.
func (c *Client) Logout(ctx context.Context) (*LogoutReport, error) {
	return call[LogoutReport](ctx, c, map[string]any{"op": "logout"})
}

// Status says which token Token would use, from where, and in what state (a store problem
// is reported in Status.Error, not as an error).
func (c *Client) Status(ctx context.Context) (*Status, error) {
	return call[Status](ctx, c, map[string]any{"op": "status"})
}

// StatusAll is the status of every credential stored for this app: each issuer, client and
// profile, ordered so, from the store alone ($<APP>_TOKEN is not consulted).
func (c *Client) StatusAll(ctx context.Context) ([]Status, error) {
	r, err := call[struct{ Statuses []Status }](ctx, c, map[string]any{"op": "status_all"})
	if err != nil {
		return nil, err
	}
	return r.Statuses, nil
}

// Profiles lists the profiles stored for this issuer and client.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	r, err := call[struct{ Profiles []Profile }](ctx, c, map[string]any{"op": "profiles"})
	if err != nil {
		return nil, err
	}
	return r.Profiles, nil
}

// UseProfile makes profile the active one (it must have a stored credential).
func (c *Client) UseProfile(ctx context.Context, profile string) error {
	_, err := call[struct{}](ctx, c, map[string]any{"op": "use_profile", "profile": profile})
	return err
}

// run executes one session of command to its end and decodes its outcome into out (a
// pointer).
func (c *Client) run(ctx context.Context, command map[string]any, out any) error {
	cmd, _ := json.Marshal(command) // strings, numbers and maps of them: it cannot fail
	return c.start(ctx, cmd, out, false)
}

// start runs the session of cmd (its JSON); with tokenOnly, out is a *TokenReport of which
// only Token is set when the token was at hand at once (a cached one).
func (c *Client) start(ctx context.Context, cmd []byte, out any, tokenOnly bool) error {
	// One call starts the session (this process's environment, the OS's randomness) and
	// does its storage: a cached token is already `done`.
	s, text, token, err := startSession(c.config, cmd, nowMs(), tokenOnly)
	if err != nil {
		return err
	}
	if token != "" {
		s.free()
		out.(*TokenReport).Token = token
		return nil
	}
	defer s.free()
	x := &executor{c: c, cancel: make(chan struct{})}
	var once sync.Once
	x.stop = func() { once.Do(func() { close(x.cancel) }) }
	defer context.AfterFunc(ctx, x.stop)()
	defer x.close()
	for ; ; text, err = s.advance(nowMs()) {
		if err != nil {
			return err
		}
		// The session's last action is read alone first, its outcome straight into out: a
		// cached token's session is a single `done`, and the full action type's decoder
		// and a second pass over the outcome cost more than the rest.
		last := ending{Result: out}
		var a action
		err = json.Unmarshal(text, &last)
		if err == nil && last.Type != "done" && last.Type != "failed" {
			err = json.Unmarshal(text, &a)
		}
		wipe(text)
		if err != nil {
			return internalError("unreadable action from libtermauth")
		}
		switch last.Type {
		case "done":
			return nil
		case "failed":
			return errorFromJSON(last.Error)
		case "await_response":
			return internalError("the session waits for an answer that was never asked for")
		}
		input, err := x.execute(&a)
		if err != nil {
			return err
		}
		if input != nil {
			b, _ := json.Marshal(input)
			err := s.handle(b, nowMs())
			wipe(b)
			if err != nil && a.Type != "await_redirect" {
				return err
			} else if err != nil {
				x.abortBrowser() // a redirect the session no longer waited for
			}
		}
		if x.cancelled() && !x.cancelSent {
			x.cancelSent = true
			_ = s.handle([]byte(`{"type":"cancel"}`), nowMs())
		}
	}
}

// executor is what one run keeps between actions.
type executor struct {
	c          *Client
	ui         *terminal     // made on the first action that is not storage
	cancel     chan struct{} // closed on Ctrl-C or when ctx ends
	stop       func()        // closes cancel
	untrap     func()        // removes the Ctrl-C handler, once one is set
	cancelSent bool
	listener   *loopback
	browser    *callback // the browser connection waiting for its page
}

func (x *executor) cancelled() bool {
	select {
	case <-x.cancel:
		return true
	default:
	}
	return false
}

// interrupted is closed once a cancel is still to be told to the session (a wait ends).
func (x *executor) interrupted() <-chan struct{} {
	if x.cancelSent {
		return nil
	}
	return x.cancel
}

// execute does one action; the input to hand back, if it takes one.
func (x *executor) execute(a *action) (any, error) {
	traceAction(a)
	if x.ui == nil {
		// Only now: a cached token (storage only) costs no terminal check and no signal
		// handler (signal.Stop waits for the signal loop: most of a cached Token's time).
		x.ui = newTerminal(x.c.cfg.Stderr)
		x.untrap = x.c.interrupts(x.stop)
	}
	switch a.Type {
	case "send_request":
		return x.c.send(a), nil
	case "wait_until":
		x.ui.wait(a.AtMs, a.Progress, x.interrupted())
	case "launch_browser":
		return map[string]any{"type": "browser_launched", "id": a.ID, "launched": x.launch(a.URL)}, nil
	case "show_user_code", "show_authorization_url":
		if x.listener != nil && a.RedirectURI != "" {
			x.listener.expect(a.RedirectURI)
		}
		x.show(a)
	case "notice":
		x.ui.notice(a.Level, a.Text)
	case "listen":
		l, port, err := listen(a.Host, a.Port, a.NotFound)
		if err != nil {
			return map[string]any{"type": "io_error", "id": a.ID, "message": err.Error()}, nil
		}
		x.listener = l
		return map[string]any{"type": "listening", "id": a.ID, "port": port}, nil
	case "await_redirect":
		return x.awaitRedirect(a), nil
	case "answer_browser":
		if x.browser != nil {
			x.browser.answer(a.Status, a.HTML)
			x.browser = nil
		}
	default:
		return nil, internalError("unknown action " + a.Type)
	}
	return nil, nil
}

func (x *executor) abortBrowser() {
	if x.browser != nil {
		x.browser.abort()
		x.browser = nil
	}
}

func (x *executor) close() {
	x.abortBrowser()
	if x.listener != nil {
		x.listener.close()
	}
	if x.ui != nil {
		x.untrap()
		x.ui.clear()
	}
}
