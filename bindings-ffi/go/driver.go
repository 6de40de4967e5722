package termauth

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// maxResponseBytes mirrors the core's cap (256 KiB): read one byte more so it can refuse.
const maxResponseBytes = 256*1024 + 1

// action is a polled action, decoded from the library's JSON.
type action struct {
	Type string `json:"type"`
	// send_request
	ID      uint64      `json:"id"`
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
	// show_user_code
	UserCode
	// open_browser, await_redirect
	RedirectURI string `json:"redirect_uri"`
	// persist
	Credential json.RawMessage `json:"credential"`
	// wait_until, await_redirect
	AtMs    int64 `json:"at_ms"`
	UntilMs int64 `json:"until_ms"`
	// done, failed
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

// run drives one sans-IO flow to its end: the one driver loop of ARCHITECTURE.md.
func (c *Client) run(ctx context.Context, spec []byte, persist func(string) error, redirects *redirectSource) (json.RawMessage, error) {
	f, err := newFlow(spec, nil)
	if err != nil {
		return nil, err
	}
	defer f.free()
	for {
		text, err := f.poll(c.nowMs())
		if err != nil {
			return nil, err
		}
		var a action
		if err := json.Unmarshal([]byte(text), &a); err != nil {
			return nil, usageError("internal_error", "unreadable action from libtermauth")
		}
		switch a.Type {
		case "send_request":
			c.send(ctx, f, &a)
		case "show_user_code":
			if c.cfg.ShowUserCode != nil {
				c.cfg.ShowUserCode(a.UserCode)
			} else {
				fmt.Fprintf(c.cfg.Stderr, "To log in, open %s and enter the code: %s\n", a.VerificationURI, a.UserCode.UserCode)
				if a.VerificationURIComplete != "" {
					fmt.Fprintf(c.cfg.Stderr, "Or open this link, which includes the code: %s\n", a.VerificationURIComplete)
				}
			}
		case "open_browser":
			if c.cfg.OpenBrowser != nil {
				if err := c.cfg.OpenBrowser(a.URL); err != nil {
					fmt.Fprintf(c.cfg.Stderr, "Could not open a browser (%v). Open this URL to log in:\n  %s\n", err, a.URL)
				}
			} else {
				fmt.Fprintf(c.cfg.Stderr, "Open this URL in a browser to log in:\n  %s\n", a.URL)
				if redirects != nil && redirects.paste {
					fmt.Fprintln(c.cfg.Stderr, "After approving, the browser goes to an address that may fail to load; copy that whole address and paste it here, then press Enter:")
				}
			}
		case "persist":
			if persist != nil {
				if err := persist(string(a.Credential)); err != nil {
					return nil, err
				}
			}
		case "wait_until":
			if !sleepFor(ctx, time.Duration(a.AtMs-c.nowMs())*time.Millisecond) {
				f.cancel(c.nowMs())
			}
		case "await_redirect":
			if redirects == nil {
				return nil, usageError("internal_error", "the flow waits for a redirect but none can arrive")
			}
			c.awaitRedirect(ctx, f, redirects, a.UntilMs)
		case "await_response":
			return nil, usageError("internal_error", "the flow waits for a response that was never sent")
		case "done":
			return a.Result, nil
		case "failed":
			if a.Error == nil {
				return nil, usageError("internal_error", "the flow failed without an error")
			}
			return nil, a.Error
		default:
			return nil, usageError("internal_error", "unknown action "+a.Type)
		}
	}
}

func sleepFor(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// send performs a send_request action with net/http and feeds the answer back.
func (c *Client) send(ctx context.Context, f *flow, a *action) {
	var body io.Reader
	if a.Body != "" {
		body = strings.NewReader(a.Body)
	}
	req, err := http.NewRequestWithContext(ctx, a.Method, a.URL, body)
	if err != nil {
		_ = f.handleTransportError(a.ID, transportOther, err.Error(), c.nowMs())
		return
	}
	for _, h := range a.Headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			f.cancel(c.nowMs())
			return
		}
		_ = f.handleTransportError(a.ID, transportKind(err), err.Error(), c.nowMs())
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		_ = f.handleTransportError(a.ID, transportKind(err), err.Error(), c.nowMs())
		return
	}
	var hb strings.Builder
	for name, values := range resp.Header {
		for _, v := range values {
			hb.WriteString(name)
			hb.WriteString(": ")
			hb.WriteString(v)
			hb.WriteString("\r\n")
		}
	}
	_ = f.handleResponse(a.ID, resp.StatusCode, hb.String(), data, c.nowMs())
}

func transportKind(err error) uint32 {
	var dns *net.DNSError
	var cert x509.UnknownAuthorityError
	var host x509.HostnameError
	var rec tls.RecordHeaderError
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return transportDNS
	case errors.As(err, &cert), errors.As(err, &host), errors.As(err, &rec):
		return transportTLS
	case errors.As(err, &ne) && ne.Timeout():
		return transportTimeout
	case errors.As(err, &op) && op.Op == "dial":
		return transportConnect
	}
	return transportOther
}

// redirectSource is where an authorization code flow's redirect comes from: the loopback
// listener (Browser) or the user's paste (Paste).
type redirectSource struct {
	paste    bool
	host     string
	port     int
	listener net.Listener
	server   *http.Server
	got      chan redirectMsg
}

type redirectMsg struct {
	url   string
	reply chan error
}

// listen binds the loopback listener (127.0.0.1 by default, never 0.0.0.0).
func (c *Client) listen() (*redirectSource, error) {
	host := c.cfg.RedirectHost
	if host == "" {
		host = "127.0.0.1"
	}
	// RFC 8252 §8.3: a loopback IP literal only (as the native listener): "localhost" means
	// 127.0.0.1; names that DNS resolves, and 0.0.0.0, are refused.
	bindHost := host
	if bindHost == "localhost" {
		bindHost = "127.0.0.1"
	}
	if ip := net.ParseIP(strings.Trim(bindHost, "[]")); ip == nil || !ip.IsLoopback() {
		return nil, &Error{Kind: "usage", Code: "listener_bind", Hint: HintFixConfiguration,
			Message: fmt.Sprintf("The redirect listener only binds loopback addresses (127.0.0.1, [::1]), not %q.", host)}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(strings.Trim(bindHost, "[]"), strconv.Itoa(c.cfg.RedirectPort)))
	if err != nil {
		return nil, &Error{Kind: "usage", Code: "listener_failed", Hint: HintFixConfiguration,
			Message: fmt.Sprintf("Could not listen on %s:%d for the login redirect: %v.", host, c.cfg.RedirectPort, err)}
	}
	rs := &redirectSource{host: host, port: l.Addr().(*net.TCPAddr).Port, listener: l, got: make(chan redirectMsg)}
	rs.server = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		msg := redirectMsg{url: r.URL.RequestURI(), reply: make(chan error, 1)}
		select {
		case rs.got <- msg:
		case <-r.Context().Done():
			return
		case <-time.After(5 * time.Second):
			http.Error(w, "This login is no longer waiting.", http.StatusGone)
			return
		}
		err := <-msg.reply
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, "<!doctype html><title>Not found</title><p>%s</p>", html.EscapeString(err.Error()))
			return
		}
		fmt.Fprint(w, "<!doctype html><title>Logged in</title><p>You can close this window and return to the terminal.</p>")
	})}
	go func() { _ = rs.server.Serve(l) }()
	return rs, nil
}

func (rs *redirectSource) close() {
	if rs.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = rs.server.Shutdown(ctx)
	}
}

// awaitRedirect waits for one redirect (or the deadline, or ctx) and hands it to the flow.
// A refused redirect (wrong path) leaves the flow waiting: the next poll asks again.
func (c *Client) awaitRedirect(ctx context.Context, f *flow, rs *redirectSource, untilMs int64) {
	deadline := time.NewTimer(time.Duration(untilMs-c.nowMs()) * time.Millisecond)
	defer deadline.Stop()
	if rs.paste {
		type pasted struct {
			url string
			err error
		}
		ch := make(chan pasted, 1)
		go func() {
			read := c.cfg.ReadRedirect
			if read == nil {
				read = readLine
			}
			u, err := read(ctx)
			ch <- pasted{u, err}
		}()
		select {
		case p := <-ch:
			if p.err != nil {
				f.cancel(c.nowMs())
				return
			}
			if err := f.handleRedirect(p.url, c.nowMs()); err != nil {
				fmt.Fprintf(c.cfg.Stderr, "%s Paste the whole address again:\n", err.Error())
			}
		case <-deadline.C:
		case <-ctx.Done():
			f.cancel(c.nowMs())
		}
		return
	}
	select {
	case msg := <-rs.got:
		err := f.handleRedirect(msg.url, c.nowMs())
		msg.reply <- err
	case <-deadline.C:
	case <-ctx.Done():
		f.cancel(c.nowMs())
	}
}

func readLine(ctx context.Context) (string, error) {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// TokenSource returns an oauth2.TokenSource over Token: any Go HTTP client can use it
// (oauth2.NewClient(ctx, ts)). It caches the token in memory until the moment Token would
// renew it (expiry minus the refresh skew), so the cached path costs no cgo call.
func (c *Client) TokenSource(ctx context.Context) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, &tokenSource{ctx: ctx, c: c})
}

type tokenSource struct {
	ctx context.Context
	c   *Client
}

func (ts *tokenSource) Token() (*oauth2.Token, error) {
	c := ts.c
	if t := c.envToken(); t != "" {
		return &oauth2.Token{AccessToken: t, TokenType: "Bearer"}, nil
	}
	text, err := c.freshCredential(ts.ctx, false)
	if err != nil {
		return nil, err
	}
	cr, err := parseCredential(text)
	if err != nil {
		return nil, err
	}
	tok := &oauth2.Token{AccessToken: cr.secret(), TokenType: "Bearer"}
	if cr.Tokens != nil {
		if cr.Tokens.TokenType != "" {
			tok.TokenType = cr.Tokens.TokenType
		}
		if cr.Tokens.ExpiresAt > 0 {
			skew := c.skewMs()
			if skew == 0 {
				skew = 60_000
			}
			// oauth2 treats a token as expired 10 s before Expiry; shift so it asks us again
			// exactly when our lifecycle decision would renew.
			tok.Expiry = time.Now().Add(time.Duration(cr.Tokens.ExpiresAt-skew-c.nowMs()) * time.Millisecond).Add(10 * time.Second)
		}
	}
	return tok, nil
}
