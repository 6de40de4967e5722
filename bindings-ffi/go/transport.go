package termauth

// The transport: the session's send_request actions with net/http. Proxies and TLS are
// Go's (http.ProxyFromEnvironment, the system roots) or those of Config.HTTPClient; every
// request has an overall deadline (Config.RequestTimeout, 30 s by default); redirects are
// not followed (an OAuth endpoint that redirects a POST is misconfigured, and following it
// could carry secrets elsewhere).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultRequestTimeout is the overall deadline of an HTTP request when
// Config.RequestTimeout is zero: 30 s, as in every termauth language.
const DefaultRequestTimeout = 30 * time.Second

// maxBody is one byte more than the core accepts (256 KiB), so that it can refuse a
// larger body instead of seeing it cut.
const maxBody = 256*1024 + 1

func defaultHTTPClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = http.ProxyFromEnvironment
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// withoutRedirects is the host's client, but never following a redirect: on 307/308 Go
// would send the form (refresh token, client secret, code verifier) to wherever it points.
func withoutRedirects(host *http.Client) *http.Client {
	own := *host
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &own
}

// send performs a send_request action; the http_response or transport_error input. A
// request already sent is let finish (within its deadline) even after Ctrl-C: its answer
// may carry a rotated refresh token that must not be lost.
func (c *Client) send(a *action) map[string]any {
	// The deadline bounds the whole exchange: connect, send, headers and body (the body's
	// reads end with the context too).
	ctx, cancel := context.WithTimeout(context.Background(), c.requestTimeout)
	defer cancel()
	failed := func(err error) map[string]any {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return map[string]any{"type": "transport_error", "id": a.ID, "kind": transportKind(err), "message": err.Error()}
	}
	var body io.Reader
	if a.Body != "" {
		body = strings.NewReader(a.Body)
	}
	req, err := http.NewRequestWithContext(ctx, a.Method, a.URL, body)
	if err != nil {
		return failed(err)
	}
	for _, h := range a.Headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return failed(err)
	}
	headers := [][2]string{}
	for _, name := range slices.Sorted(maps.Keys(resp.Header)) {
		for _, v := range resp.Header[name] {
			headers = append(headers, [2]string{name, v})
		}
	}
	// A body that is not UTF-8 becomes U+FFFD where it is not (json.Marshal), as every
	// driver decodes it; the core judges what is left.
	return map[string]any{"type": "http_response", "id": a.ID, "status": resp.StatusCode, "headers": headers, "body": string(data)}
}

func transportKind(err error) string {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return "dns"
	case errors.As(err, &unknownCA), errors.As(err, &host), errors.As(err, &invalid), errors.As(err, &record):
		return "tls"
	// net/http turns the tls.RecordHeaderError of a plain-HTTP answer to the handshake into
	// an error of its own, with no type to match: its text is all there is.
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "tls"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &op) && op.Op == "dial":
		return "connect"
	}
	return "other"
}
