package termauth

// The loopback listener of a browser login (RFC 8252 §7.3, §8.3): it binds a loopback IP
// literal only, serves connections concurrently (a slow or flooding client cannot hold it:
// each request head must arrive within 5 s and 16 KiB), hands a GET on the exact redirect
// path to the session and holds that response until the session's answer_browser page, and
// answers everything else with the session's not-found page. Each connection carries one
// request, read by net/http's parser (http.ReadRequest), and is closed after its answer; a
// request that does not parse, or whose head is too long or too slow, is closed unanswered,
// as in Rust and Python. (No http.Server: its HTTP/1 and HTTP/2 server machinery is 360 KB
// of every Go binary that links termauth, for a listener that answers one GET.)
//
// As in Rust and Python (native/src/listener.rs, bindings-python/.../_listener.py), at most
// maxConnections connections not yet answered or handed to the session are kept: when one
// more is accepted, the oldest of them is closed unanswered, so a flood cannot push out the
// browser's redirect that arrives after it. Unlike them, this one accepts connections even
// while the session is not waiting (Rust and Python accept only while it waits, leaving
// them to the kernel's backlog meanwhile).

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
)

type loopback struct {
	conns     *limitListener
	notFound  string
	callbacks chan *callback
	closed    chan struct{}
	pathOnce  sync.Once
	path      string
	known     chan struct{}  // closed once the redirect path is known
	answering sync.WaitGroup // connections handed to the session, until answered or closed
	mu        sync.Mutex
	stopped   bool // close has begun
}

// answer counts one more connection to wait for at close, unless close has begun.
func (l *loopback) answer() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.answering.Add(1)
	return true
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
	go func() {
		backoff := 5 * time.Millisecond
		for {
			c, err := l.conns.accept()
			if err != nil {
				select {
				case <-l.closed:
					return
				default:
				}
				// Out of file descriptors, say: wait and accept again (as http.Server
				// does), so the browser's redirect can still arrive.
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			backoff = 5 * time.Millisecond
			go l.serve(c)
		}
	}()
	return l, ln.Addr().(*net.TCPAddr).Port, nil
}

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
	l        *limitListener
	once     sync.Once
	gone     chan struct{} // closed with the connection (dropped as the oldest, or answered)
	headRead atomic.Bool   // its request head has been read
}

func (l *limitListener) accept() (*limitedConn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitedConn{Conn: c, l: l, gone: make(chan struct{})}
	l.mu.Lock()
	var oldest *limitedConn
	if len(l.live) >= maxConnections {
		oldest, l.live = l.live[0], l.live[1:]
	}
	l.live = append(l.live, lc)
	l.mu.Unlock()
	if oldest != nil {
		// Unanswered: its read fails, or its wait for the session ends.
		_ = oldest.Close()
	}
	return lc, nil
}

// closeReading closes the listening socket and the connections still reading their head
// (the others end on the listener's close themselves, a page handed over written first).
func (l *limitListener) closeReading() {
	_ = l.Listener.Close()
	l.mu.Lock()
	var reading []*limitedConn
	for _, c := range l.live {
		if !c.headRead.Load() {
			reading = append(reading, c)
		}
	}
	l.mu.Unlock()
	for _, c := range reading {
		_ = c.Close()
	}
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
	c.once.Do(func() { close(c.gone) })
	return c.Conn.Close()
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

// serve reads c's one request and answers it (or hands it to the session, which answers).
func (l *loopback) serve(c *limitedConn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(requestRead))
	// The head within 16 KiB: past that the reader ends, and the request does not parse.
	r, err := http.ReadRequest(bufio.NewReader(io.LimitReader(c, maxRequestHead)))
	if err != nil || r.ProtoMajor != 1 {
		return // half-sent, too long, too slow or not HTTP/1.x: closed unanswered
	}
	c.headRead.Store(true)
	_ = c.SetReadDeadline(time.Time{})
	if r.Method != http.MethodGet {
		l.conns.forget(c)
		l.write(c, http.StatusMethodNotAllowed, l.notFound)
		return
	}
	select {
	case <-l.known:
	case <-l.closed:
		return
	case <-c.gone:
		return
	}
	if path, _, _ := strings.Cut(r.RequestURI, "?"); path != l.path {
		l.conns.forget(c)
		l.write(c, http.StatusNotFound, l.notFound)
		return
	}
	cb := &callback{target: r.RequestURI, page: make(chan *page, 1)}
	if !l.answer() {
		return
	}
	defer l.answering.Done()
	select {
	case l.callbacks <- cb:
		l.conns.forget(c)
	case <-l.closed:
		return
	case <-c.gone:
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
	if p != nil {
		l.write(c, p.status, p.html)
	}
}

// write answers with html and the headers of every termauth listener's page.
func (l *loopback) write(w io.Writer, status int, html string) {
	head := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(html)) + "\r\n" +
		"Cache-Control: no-store\r\n" +
		"Referrer-Policy: no-referrer\r\n" +
		"Connection: close\r\n\r\n"
	_, _ = io.WriteString(w, head+html)
}

// close stops the listener: no more connections; those waiting for the path or for the
// session are closed unanswered, and a page already handed over is still written.
func (l *loopback) close() {
	l.mu.Lock()
	l.stopped = true // no answering.Add after this: Wait below may start
	l.mu.Unlock()
	close(l.closed)
	l.conns.closeReading()
	written := make(chan struct{})
	go func() { l.answering.Wait(); close(written) }()
	select { // the page a program exiting after login must not lose (within a second)
	case <-written:
	case <-time.After(time.Second):
	}
}
