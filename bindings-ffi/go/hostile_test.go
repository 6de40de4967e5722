package termauth

// Hostile input where Go shapes it: the loopback listener under a flood and half-sent
// requests, a server that sends escape sequences and control characters (the terminal
// shows only what the session gives, and the session cleans it), a body far too large,
// and a redirecting endpoint.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listenerAddr is the host:port of the loopback redirect in an authorization URL.
func listenerAddr(t *testing.T, authURL string) string {
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil {
		t.Fatal(err)
	}
	return r.Host
}

func TestListenerFloodAndHalfSentRequests(t *testing.T) {
	dir := isolated(t)
	type seen struct {
		status  int
		body    string
		headers http.Header
	}
	var mu sync.Mutex
	var others []seen
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	page := make(chan map[string]any, 1)
	c := newClient(t, Config{Scope: "openid", ShowAuthorizationURL: func(authURL string) {
		addr := listenerAddr(t, authURL)
		// Connections that send half a request line and stop: they must not hold the listener.
		for i := 0; i < 5; i++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			fmt.Fprint(conn, "GET /callb")
			held = append(held, conn)
		}
		// A flood of wrong requests, served concurrently, each with the not-found page.
		var wg sync.WaitGroup
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var req *http.Request
				switch i % 4 {
				case 0:
					req, _ = http.NewRequest("GET", "http://"+addr+"/favicon.ico", nil)
				case 1:
					req, _ = http.NewRequest("POST", "http://"+addr+"/callback", strings.NewReader("code=x"))
				case 2:
					req, _ = http.NewRequest("GET", "http://"+addr+"/callback/../other?x=<script>", nil)
				case 3:
					conn, err := net.Dial("tcp", addr)
					if err == nil {
						conn.Write([]byte("\x00\x01\x02 garbage\r\n\r\n"))
						_, _ = io.ReadAll(conn)
						conn.Close()
					}
					return
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("flood request %d: %v", i, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				others = append(others, seen{resp.StatusCode, string(b), resp.Header})
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		followBrowser(t, "approve", page)(authURL)
	}})
	start := time.Now()
	rep, err := c.Login(ctx(t), Browser)
	if err != nil || rep.Method != "browser" {
		t.Fatalf("browser login under a flood: %+v %v", rep, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the half-sent requests held the login for %v", d)
	}
	if p := <-page; p["callback_status"] != float64(200) {
		t.Errorf("the callback's page: %v", p)
	}
	if len(others) != 45 {
		t.Fatalf("flood answers: %d", len(others))
	}
	for _, s := range others {
		if (s.status != 404 && s.status != 405) || s.body != others[0].body || !strings.Contains(s.body, "<") ||
			s.headers.Get("Content-Type") != "text/html; charset=utf-8" || s.headers.Get("Cache-Control") != "no-store" {
			t.Errorf("a wrong request got %d %q %v", s.status, s.body, s.headers)
		}
	}
	if r := storedRecord(t, dir, "default"); r.Grant != "authorization_code" {
		t.Errorf("record %+v", r)
	}
}

// RFC 8252 §8.3: any local program can connect to the loopback listener. Idle connections
// must not delay the browser's redirect (net/http serves connections concurrently), and a
// request whose head never completes, or whose request line is not HTTP/1.x (RFC 9112 §3),
// never reaches the session: it cannot touch the login.

// browserLoginBeside runs a browser login whose listener first meets neighbour (a local
// program, given the listener's address; the connections it returns stay open until the
// redirect is answered). Then the user approves and the browser sends the redirect, timed:
// the login must complete, the redirect answered within 1 s of sending it (0.3-16 ms
// measured). It returns that time.
func browserLoginBeside(t *testing.T, neighbour func(addr string) ([]net.Conn, error)) time.Duration {
	dir := isolated(t)
	type seen struct {
		status int
		body   string
		took   time.Duration
		err    error
	}
	done := make(chan seen, 1)
	login, cancel := context.WithCancel(ctx(t))
	defer cancel()
	c := newClient(t, Config{Scope: "openid offline_access", ShowAuthorizationURL: func(authURL string) {
		go func() {
			s := seen{}
			defer func() {
				if s.err != nil {
					cancel() // the login would otherwise wait for its redirect deadline
				}
				done <- s
			}()
			held, err := neighbour(listenerAddr(t, authURL))
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			if err != nil {
				s.err = err
				return
			}
			out := approver(t, "/__test/authorize", map[string]any{"url": authURL, "action": "approve", "follow_redirect": false})
			redirect, _ := out["redirect"].(string)
			sent := time.Now()
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(redirect)
			if err != nil {
				s.err = err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			s.status, s.body, s.took = resp.StatusCode, string(b), time.Since(sent)
		}()
	}})
	rep, err := c.Login(login, Browser)
	s := <-done
	if s.err != nil {
		t.Fatalf("the browser's part: %v (login: %v)", s.err, err)
	}
	if err != nil || rep.Method != "browser" {
		t.Fatalf("the login did not survive the neighbour: %+v %v", rep, err)
	}
	if s.status != 200 || !strings.Contains(s.body, "Login approved") {
		t.Errorf("the redirect's page: %d %q", s.status, s.body)
	}
	if r := storedRecord(t, dir, "default"); r.Grant != "authorization_code" {
		t.Errorf("record %+v", r)
	}
	if s.took >= time.Second {
		t.Errorf("the redirect was answered after %v: connections were served one at a time", s.took)
	}
	return s.took
}

// untilClosed sends request (then FIN when fin) on a new connection to addr and returns
// what came back before the listener closed it (at most 3 s).
func untilClosed(addr, request string, fin bool) (string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		return "", err
	}
	if fin {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			return "", err
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	got, err := io.ReadAll(conn)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil // closed with unread bytes
	}
	return string(got), err
}

// notTheSession checks what a dropped request got back: nothing, or a bare "400 Bad
// Request" for a request line that does not parse; never a page of the session.
func notTheSession(got string) error {
	if got == "" || (strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") && !strings.Contains(got, "<")) {
		return nil
	}
	return fmt.Errorf("the request reached the session: %q", got)
}

func TestListenerIdleConnectionsDoNotDelayTheRedirect(t *testing.T) {
	took := browserLoginBeside(t, func(addr string) ([]net.Conn, error) {
		// Fifty connections that never send a byte, each allowed 5 s: served one after the
		// other they would hold the redirect for minutes.
		var held []net.Conn
		for i := 0; i < 50; i++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return held, err
			}
			held = append(held, conn)
		}
		return held, nil
	})
	t.Logf("with 50 idle connections open, the redirect was answered in %v", took)
}

func TestListenerDropsAHalfSentRequestLine(t *testing.T) {
	took := browserLoginBeside(t, func(addr string) ([]net.Conn, error) {
		// No HTTP version and no line end, then FIN: the head never completed.
		got, err := untilClosed(addr, "GET /callback?code=x&state=y", true)
		if err == nil {
			err = notTheSession(got)
		}
		return nil, err
	})
	t.Logf("after a half-sent request line, the redirect was answered in %v", took)
}

func TestListenerDropsARequestLineWithoutHTTPVersion(t *testing.T) {
	took := browserLoginBeside(t, func(addr string) ([]net.Conn, error) {
		got, err := untilClosed(addr, "GET /callback?code=x&state=y\r\n\r\n", false)
		if err == nil {
			err = notTheSession(got)
		}
		return nil, err
	})
	t.Logf("after a request line without a version, the redirect was answered in %v", took)
}

// A redirect whose head is longer than 16 KiB (a header stuffed by a local program) is
// closed unanswered, and the browser's redirect after it still logs in.
func TestListenerDropsAnOversizedHead(t *testing.T) {
	took := browserLoginBeside(t, func(addr string) ([]net.Conn, error) {
		stuffed := "GET /callback?code=x&state=y HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " +
			strings.Repeat("a", maxRequestHead) + "\r\n\r\n"
		got, err := untilClosed(addr, stuffed, false)
		if err == nil {
			err = notTheSession(got)
		}
		return nil, err
	})
	t.Logf("after an oversized head, the redirect was answered in %v", took)
}

// A request line of another HTTP version (HTTP/2.0, HTTP/9.9) is closed unanswered, as in
// Rust and Python (RFC 9112 §2.3: this listener speaks HTTP/1.x).
func TestListenerDropsANonHTTP1RequestLine(t *testing.T) {
	l, port, err := listen("127.0.0.1", 0, "not found")
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	l.expect("http://127.0.0.1:" + fmt.Sprint(port) + "/callback")
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	for _, version := range []string{"HTTP/2.0", "HTTP/9.9"} {
		got, err := untilClosed(addr, "GET /callback?code=x&state=y "+version+"\r\nHost: x\r\n\r\n", false)
		if err == nil {
			err = notTheSession(got)
		}
		if err != nil {
			t.Errorf("%s: %v", version, err)
		}
	}
	select {
	case cb := <-l.callbacks:
		t.Fatalf("reached the session: %q", cb.target)
	default:
	}
}

// A page the session handed over is written even when the listener closes at once (a CLI
// exits right after its login): close waits for it.
func TestListenerWritesTheLastPageBeforeClosing(t *testing.T) {
	l, port, err := listen("127.0.0.1", 0, "not found")
	if err != nil {
		t.Fatal(err)
	}
	l.expect("http://127.0.0.1:" + fmt.Sprint(port) + "/callback")
	got := make(chan string, 1)
	go func() {
		s, _ := untilClosed(net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), "GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\n\r\n", false)
		got <- s
	}()
	cb := <-l.callbacks
	cb.answer(200, "<p>approved</p>")
	l.close()
	if s := <-got; !strings.HasPrefix(s, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(s, "\r\n\r\n<p>approved</p>") ||
		!strings.Contains(s, "Cache-Control: no-store\r\n") || !strings.Contains(s, "Referrer-Policy: no-referrer\r\n") {
		t.Fatalf("the page: %q", s)
	}
	// After close: nothing listens.
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), time.Second); err == nil {
		c.Close()
		t.Fatal("still listening after close")
	}
}

// TestListenerDropsTheOldestConnectionAndKeepsACompleteCallback: 64 connections that send
// nothing, then the browser's redirect, before the session knows its redirect path. The
// redirect's connection makes 65: the oldest idle one is closed unanswered (as in Rust and
// Python), the next one is not. The idle ones run out of their 5 s; the redirect, its head
// complete, waits for the session past them and reaches it with its page.
func TestListenerDropsTheOldestConnectionAndKeepsACompleteCallback(t *testing.T) {
	l, port, err := listen("127.0.0.1", 0, "not found")
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := 0; i < maxConnections; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	browser, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()
	sent := time.Now()
	if _, err := io.WriteString(browser, "GET /callback?code=real&state=s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = idle[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := idle[0].Read(buf); n != 0 || (err != io.EOF && !errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("the oldest connection was not closed unanswered: %q %v", buf[:n], err)
	}
	_ = idle[1].SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := idle[1].Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the second oldest connection was closed too: %v", err)
	}
	time.Sleep(time.Until(sent.Add(requestRead + time.Second)))
	l.expect("http://127.0.0.1:" + fmt.Sprint(port) + "/callback")
	select {
	case cb := <-l.callbacks:
		if cb.target != "/callback?code=real&state=s" {
			t.Fatalf("callback %q", cb.target)
		}
		cb.answer(200, "approved")
	case <-time.After(2 * time.Second):
		t.Fatal("the redirect did not outlive the idle connections' 5 s")
	}
	_ = browser.SetReadDeadline(time.Now().Add(2 * time.Second))
	page, _ := io.ReadAll(browser)
	if !strings.HasPrefix(string(page), "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(string(page), "approved") {
		t.Errorf("the redirect's page: %q", page)
	}
}

// hostileServer is an authorization server whose strings carry terminal escape
// sequences and control characters: in the user code (which the session shows cleaned),
// or, with hostileURIs, in the verification URIs too (which the core refuses outright).
// hostileServer is a device-flow server whose token endpoint is `token`; with "uris" its
// verification URIs, with "code" its user code, carry escape sequences.
func hostileServer(t *testing.T, token http.HandlerFunc, hostile ...string) (*httptest.Server, json.RawMessage) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	inURI, code := "", "WDJB-MJHT"
	for _, h := range hostile {
		switch h {
		case "uris":
			inURI = `\u001b]0;pwned\u0007`
		case "code":
			code = `WDJB\u001b]0;pwned\u0007-MJHT\u009b2J`
		}
	}
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"device_code":"dc","user_code":"%s","verification_uri":"%s/device%s",`+
			`"verification_uri_complete":"%s/device?user_code=WDJB-MJHT%s","expires_in":600,"interval":1}`, code, srv.URL, inURI, srv.URL, inURI)
	})
	mux.HandleFunc("/token", token)
	meta, _ := json.Marshal(map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token",
		"device_authorization_endpoint": srv.URL + "/device", "authorization_endpoint": srv.URL + "/auth"})
	return srv, meta
}

// controlChars lists the control characters in s other than newline (C0, DEL, C1).
func controlChars(s string) []rune {
	var out []rune
	for _, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			out = append(out, r)
		}
	}
	return out
}

// bidiControls lists the bidirectional formatting characters in s (they reorder what a
// terminal shows: U+202A–U+202E, U+2066–U+2069, U+200E, U+200F).
func bidiControls(s string) []rune {
	var out []rune
	for _, r := range s {
		if (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			out = append(out, r)
		}
	}
	return out
}

func TestEscapeSequencesAreShownOnlyAsTheSessionGivesThem(t *testing.T) {
	isolated(t)
	for _, tc := range []struct {
		name  string
		token http.HandlerFunc
	}{
		{"oauth error", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"access_denied","error_description":"\u001b[31mred\u001b[0m\u0007 \u202eevil","error_uri":"http://x/\u001b[5m"}`)
		}},
		{"html page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(400)
			fmt.Fprint(w, "<html>\x1b]8;;http://evil\x07click\x1b]8;;\x07 \x1b[2J\r\x08 Bad Gateway</html>")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, meta := hostileServer(t, tc.token)
			var stderr syncBuffer
			var expected strings.Builder // what the session gave to print, rendered plainly
			traceAction = func(a *action) {
				switch a.Type {
				case "show_user_code", "show_authorization_url":
					var p struct{ Lines, After []string }
					_ = json.Unmarshal(a.Text, &p)
					for _, l := range append(p.Lines, p.After...) {
						expected.WriteString(l + "\n")
					}
				case "notice":
					var s string
					_ = json.Unmarshal(a.Text, &s)
					if a.Level == "warning" {
						s = "warning: " + s
					}
					expected.WriteString(s + "\n")
				}
			}
			defer func() { traceAction = func(*action) {} }()
			c := newClient(t, Config{Issuer: srv.URL, Metadata: meta, Stderr: &stderr, Profile: strings.ReplaceAll(tc.name, " ", "-")})
			_, err := c.Login(ctx(t), Device)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("login against a hostile server: %v", err)
			}
			// Go prints exactly what the session gave, nothing of its own.
			if stderr.String() != expected.String() {
				t.Errorf("printed %q\nthe session gave %q", stderr.String(), expected.String())
			}
			if !strings.Contains(stderr.String(), "enter the code: WDJB-MJHT") {
				t.Errorf("the device prompt was not shown: %q", stderr.String())
			}
			// What the server sent reaches the terminal clean: the core cleans it (texts and
			// errors), bidirectional controls included.
			for what, text := range map[string]string{"printed": stderr.String(), "message": te.Message,
				"description": te.ErrorDescription, "uri": te.ErrorURI, "excerpt": te.Excerpt} {
				if cc := controlChars(text); len(cc) > 0 {
					t.Errorf("%s carries control characters %q: %q", what, cc, text)
				}
				if bidi := bidiControls(text); len(bidi) > 0 {
					t.Errorf("%s carries bidirectional controls %q: %q", what, bidi, text)
				}
			}
		})
	}
}

func TestHugeBodiesAndRedirectsAreRefused(t *testing.T) {
	isolated(t)
	var served int64
	var mu sync.Mutex
	srv, meta := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		bw := bufio.NewWriter(w)
		chunk := bytes.Repeat([]byte(" "), 64*1024)
		for i := 0; i < 160; i++ { // 10 MiB
			n, err := bw.Write(chunk)
			mu.Lock()
			served += int64(n)
			mu.Unlock()
			if err != nil {
				return
			}
		}
		bw.Flush()
	})
	c := newClient(t, Config{Issuer: srv.URL, Metadata: meta})
	_, err := c.Login(ctx(t), Device)
	var te *Error
	if !errors.As(err, &te) || te.Code != "response_too_large" {
		t.Errorf("a 10 MiB token response: %v", err)
	}

	// An endpoint that redirects is not followed (the session sees the 302).
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/device", http.StatusFound)
	}))
	defer redirect.Close()
	var m map[string]any
	_ = json.Unmarshal(meta, &m)
	m["device_authorization_endpoint"] = redirect.URL + "/device"
	meta2, _ := json.Marshal(m)
	c2 := newClient(t, Config{Issuer: srv.URL, Metadata: meta2, Profile: "redirect"})
	if _, err := c2.Login(ctx(t), Device); !errors.As(err, &te) || te.Status != 302 {
		t.Errorf("a redirecting endpoint: %#v", err)
	}
}

// A user code or verification URI carrying escape sequences is refused before anything is
// shown.
func TestHostileVerificationURIIsRefused(t *testing.T) {
	for _, hostile := range [][]string{{"uris"}, {"code"}, {"code", "uris"}} {
		testHostileDeviceAnswerIsRefused(t, hostile...)
	}
}

func testHostileDeviceAnswerIsRefused(t *testing.T, hostile ...string) {
	srv, meta := hostileServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, hostile...)
	var stderr bytes.Buffer
	c := newClient(t, Config{Issuer: srv.URL, Metadata: meta, Stderr: &stderr})
	_, err := c.Login(ctx(t), Device)
	var te *Error
	if !errors.As(err, &te) || te.Code != "invalid_field" {
		t.Fatalf("login against a hostile verification URI: %v", err)
	}
	if stderr.Len() != 0 || len(controlChars(te.Message)) > 0 {
		t.Errorf("printed %q, message %q", stderr.String(), te.Message)
	}
}
