package termauth

// The overall deadline of an HTTP request (connect, sending, the response's headers and its
// body together), Config.RequestTimeout: a peer on 127.0.0.1 that trickles the headers one
// byte every 200 ms forever, one that sends whole headers and then trickles a 100000-byte
// body, and one that accepts the connection and never answers. Each gives the transport
// error every language gives (Kind "transport", timed out, exit code 4) within the deadline
// and a margin.

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	deadline = 1500 * time.Millisecond
	margin   = 2 * time.Second
	trickle  = 200 * time.Millisecond
)

// slowPeer is a server on 127.0.0.1 (net.Listener, a goroutine per connection) that never
// completes a response: "headers", "body" or "silent". It stops with the test.
func slowPeer(t *testing.T, mode string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			go func() {
				var payload []byte // one element every tick; then "a" (headers) or " " (body) forever
				var rest []byte
				switch mode {
				case "headers":
					payload, rest = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Trickle: "), []byte("a")
				case "body":
					head := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
					if _, err := conn.Write([]byte(head)); err != nil {
						return
					}
					rest = []byte(" ")
				}
				for i := 0; rest != nil; i++ {
					b := rest
					if i < len(payload) {
						b = payload[i : i+1]
					}
					if _, err := conn.Write(b); err != nil {
						return // the client hung up
					}
					select {
					case <-stop:
						return
					case <-time.After(trickle):
					}
				}
				<-stop // silent: the connection stays open, unanswered
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestRequestTimeoutBoundsTheWholeRequest(t *testing.T) {
	for _, mode := range []string{"headers", "body", "silent"} {
		t.Run(mode, func(t *testing.T) {
			isolated(t)
			c := newClient(t, Config{Issuer: slowPeer(t, mode), ClientID: "deadline", RequestTimeout: deadline})
			start := time.Now()
			_, err := c.Metadata(ctx(t))
			elapsed := time.Since(start)
			t.Logf("Go Config.RequestTimeout 1.5 s, peer %s: %v after %.2f s", mode, err, elapsed.Seconds())
			var te *Error
			if !errors.As(err, &te) || te.Kind != "transport" || te.Code != "transport_error" || te.Hint != HintRetryLater {
				t.Fatalf("a peer that never completes its answer: %#v", err)
			}
			if !strings.Contains(te.Message, "timed out") {
				t.Errorf("not a timeout: %s", te.Message)
			}
			if code := ExitCode(err); code != 4 {
				t.Errorf("exit code %d", code)
			}
			if elapsed < deadline-100*time.Millisecond || elapsed >= deadline+margin {
				t.Errorf("answered after %v (deadline %v)", elapsed, deadline)
			}
		})
	}
}

func TestRequestTimeoutDefault(t *testing.T) {
	if DefaultRequestTimeout != 30*time.Second {
		t.Errorf("DefaultRequestTimeout %v", DefaultRequestTimeout)
	}
	if c := newClient(t, Config{}); c.requestTimeout != DefaultRequestTimeout {
		t.Errorf("RequestTimeout 0 gives %v", c.requestTimeout)
	}
	if c := newClient(t, Config{RequestTimeout: 5 * time.Second}); c.requestTimeout != 5*time.Second {
		t.Errorf("RequestTimeout 5s gives %v", c.requestTimeout)
	}
}

func TestNegativeRequestTimeoutIsRefused(t *testing.T) {
	for _, given := range []time.Duration{-time.Nanosecond, -time.Second} {
		c, err := New(Config{App: "termauth", Issuer: "https://login.example.com", ClientID: "x", RequestTimeout: given})
		var te *Error
		if c != nil || !errors.As(err, &te) || te.Kind != "usage" || te.Code != "invalid_timeout" || te.Hint != HintFixConfiguration {
			t.Fatalf("RequestTimeout %v: %v %#v", given, c, err)
		}
		if te.Message != "`RequestTimeout` must be a positive duration, or zero for the default (30 s)." {
			t.Errorf("message %q", te.Message)
		}
		if code := ExitCode(err); code != 5 {
			t.Errorf("exit code %d", code)
		}
	}
}
