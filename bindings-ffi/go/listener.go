package termauth

// The loopback listener of a browser login (RFC 8252 §7.3, §8.3), with net/http: it binds
// a loopback IP literal only, serves connections concurrently (a slow or flooding client
// cannot hold it: each request must arrive within 5 s and 16 KiB), hands a GET on the
// exact redirect path to the session and holds that response until the session's
// answer_browser page, and answers everything else with the session's not-found page.

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

type loopback struct {
	server    *http.Server
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
	l.server = &http.Server{
		Handler:           http.HandlerFunc(l.serve),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		MaxHeaderBytes:    16 * 1024,
		ErrorLog:          log.New(io.Discard, "", 0), // a hostile client's noise is not the user's
	}
	go func() { _ = l.server.Serve(ln) }()
	return l, ln.Addr().(*net.TCPAddr).Port, nil
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
		l.write(w, http.StatusNotFound, l.notFound)
		return
	}
	cb := &callback{target: r.RequestURI, page: make(chan *page, 1)}
	select {
	case l.callbacks <- cb:
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
