package termauth

// The loopback listener of a browser login (RFC 8252 §7.3, §8.3), with net/http: it binds
// a loopback IP literal only, serves connections concurrently (a slow or flooding client
// cannot hold it: each request head must arrive within 5 s and 16 KiB), hands a GET on the
// exact redirect path to the session and holds that response until the session's
// answer_browser page, and answers everything else with the session's not-found page.
//
// As in Rust and Python (native/src/listener.rs, bindings-python/.../_listener.py), at most
// maxConnections connections not yet answered or handed to the session are kept: when one
// more is accepted, the oldest of them is closed unanswered, so a flood cannot push out the
// browser's redirect that arrives after it. Unlike them, net/http accepts connections even
// while the session is not waiting (Rust and Python accept only while it waits, leaving
// them to the kernel's backlog meanwhile).

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// awaitRedirect waits for the browser's redirect (listener) or a pasted line until the
// deadline; nil when nothing arrived (the session's next poll says what follows).
func (x *executor) awaitRedirect(a *action) any {
	deadline := time.NewTimer(time.Until(time.UnixMilli(a.UntilMs)))
	defer deadline.Stop()
	var arrivals <-chan *callback
	var pasted <-chan line
	if a.Source == "paste" {
		pasted = x.c.stdin.get(x.c.cfg.Stdin)
	} else if x.listener != nil {
		x.listener.expect(a.RedirectURI)
		arrivals = x.listener.callbacks
	}
	select {
	case cb := <-arrivals:
		x.browser = cb
		return map[string]any{"type": "redirect", "url": cb.target}
	case l := <-pasted:
		if l.eof {
			return map[string]any{"type": "input_closed"}
		}
		if l.text == "" {
			return nil
		}
		return map[string]any{"type": "redirect", "url": l.text}
	case <-deadline.C:
	case <-x.interrupted():
	}
	return nil
}

// callback is a redirect that arrived, and its connection waiting for the page.
type callback struct {
	target string     // the request target: /callback?code=…&state=…
	page   chan *page // the page, or nil to drop the connection
}

type page struct {
	status int
	html   string
}

func (cb *callback) answer(status int, html string) { cb.page <- &page{status, html} }
func (cb *callback) abort()                         { cb.page <- nil }

// The limits on a connection, the same in every termauth listener.
const (
	maxConnections = 64              // kept at once until answered; one more drops the oldest
	requestRead    = 5 * time.Second // for the request line and headers
	maxRequestHead = 16 * 1024       // request line and headers
	headSlack      = 4096            // what net/http reads beyond MaxHeaderBytes (its "bufio slop")
)

type loopback struct {
	server    *http.Server
	conns     *limitListener
	notFound  string
	callbacks chan *callback
	closed    chan struct{}
	pathOnce  sync.Once
	path      string
	known     chan struct{} // closed once the redirect path is known
}

// listen binds host (a loopback IP literal, or localhost meaning 127.0.0.1) on port (0:
// any free one) and serves until close.
func listen(host string, port int, notFound string) (*loopback, int, error) {
	bind := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if bind == "localhost" {
		bind = "127.0.0.1"
	}
	if ip := net.ParseIP(bind); ip == nil || !ip.IsLoopback() {
		return nil, 0, errors.New("not a loopback IP address")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(port)))
	if err != nil {
		return nil, 0, err
	}
	l := &loopback{notFound: notFound, callbacks: make(chan *callback), closed: make(chan struct{}), known: make(chan struct{})}
	l.conns = &limitListener{Listener: ln}
	l.server = &http.Server{
		Handler:           http.HandlerFunc(l.serve),
		ReadHeaderTimeout: requestRead,
		ReadTimeout:       requestRead,
		// net/http reads up to MaxHeaderBytes + 4096 bytes before the head must be complete
		// (it answers 431 past that): the head limit is 16 KiB as in the other languages.
		MaxHeaderBytes: maxRequestHead - headSlack,
		ErrorLog:       log.New(io.Discard, "", 0), // a hostile client's noise is not the user's
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() { _ = l.server.Serve(l.conns) }()
	return l, ln.Addr().(*net.TCPAddr).Port, nil
}

// connKey is the request context's key to its connection (a *limitedConn).
type connKey struct{}

// limitListener keeps at most maxConnections accepted connections that are neither
// answered nor handed to the session; accepting one more closes the oldest of them (the
// rule of the Rust and Python listeners). golang.org/x/net/netutil's LimitListener would
// instead stop accepting, which lets a flood of idle connections hold out the browser.
type limitListener struct {
	net.Listener
	mu   sync.Mutex
	live []*limitedConn // oldest first
}

type limitedConn struct {
	net.Conn
	l *limitListener
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitedConn{Conn: c, l: l}
	l.mu.Lock()
	var oldest *limitedConn
	if len(l.live) >= maxConnections {
		oldest, l.live = l.live[0], l.live[1:]
	}
	l.live = append(l.live, lc)
	l.mu.Unlock()
	if oldest != nil {
		// Unanswered: net/http's read fails, and it closes the connection without a word.
		_ = oldest.Conn.Close()
	}
	return lc, nil
}

// forget stops counting c: answered, handed to the session, or closed.
func (l *limitListener) forget(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, lc := range l.live {
		if lc == c {
			l.live = append(l.live[:i], l.live[i+1:]...)
			return
		}
	}
}

func (c *limitedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}

// CloseWrite lets net/http half-close before it closes, as it does a bare *net.TCPConn.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// settled stops counting r's connection: it was answered, or the session has its callback.
func (l *loopback) settled(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		l.conns.forget(c)
	}
}

// expect sets the redirect path from the login's redirect URI.
func (l *loopback) expect(redirectURI string) {
	l.pathOnce.Do(func() {
		l.path = "/"
		if u, err := url.Parse(redirectURI); err == nil && u.EscapedPath() != "" {
			l.path = u.EscapedPath()
		}
		close(l.known)
	})
}

func (l *loopback) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		l.settled(r)
		l.write(w, http.StatusMethodNotAllowed, l.notFound)
		return
	}
	select {
	case <-l.known:
	case <-l.closed:
		panic(http.ErrAbortHandler)
	case <-r.Context().Done():
		return
	}
	if path, _, _ := strings.Cut(r.RequestURI, "?"); path != l.path {
		l.settled(r)
		l.write(w, http.StatusNotFound, l.notFound)
		return
	}
	cb := &callback{target: r.RequestURI, page: make(chan *page, 1)}
	select {
	case l.callbacks <- cb:
		l.settled(r)
	case <-l.closed:
		panic(http.ErrAbortHandler)
	case <-r.Context().Done():
		return
	}
	var p *page
	select {
	case p = <-cb.page:
	case <-l.closed:
		select { // a page handed over just before the close still goes out
		case p = <-cb.page:
		default:
		}
	}
	if p == nil {
		panic(http.ErrAbortHandler)
	}
	l.write(w, p.status, p.html)
}

func (l *loopback) write(w http.ResponseWriter, status int, html string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(html)))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Connection", "close")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, html)
}

// close stops the listener: a page already handed over is written first (within a second).
func (l *loopback) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	shutdown := make(chan struct{})
	go func() { _ = l.server.Shutdown(ctx); close(shutdown) }()
	// Handlers still waiting for a page or for the path are dropped; the one writing its
	// page finishes (Shutdown waits for it).
	close(l.closed)
	<-shutdown
	_ = l.server.Close()
}
