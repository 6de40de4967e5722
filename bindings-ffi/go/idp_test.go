package termauth

// End-to-end tests against the real authorization server in tests/idp (oidc-provider plus
// a headless approver), unattended. TestMain starts it; set TERMAUTH_IDP_ISSUER to use a
// running one instead. The Rust CLI (target/debug/termauth) is used for the cross-language
// store round trip.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

var issuer string

func TestMain(m *testing.M) {
	issuer = os.Getenv("TERMAUTH_IDP_ISSUER")
	var idp *exec.Cmd
	if issuer == "" {
		idp = exec.Command("node", filepath.Join("..", "..", "tests", "idp", "server.js"), "--port", "0")
		idp.Stderr = io.Discard
		out, err := idp.StdoutPipe()
		if err == nil {
			err = idp.Start()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "cannot start the test IdP: %v\n", err)
			os.Exit(1)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		var ready struct{ Issuer string }
		if err != nil || json.Unmarshal([]byte(line), &ready) != nil {
			fmt.Fprintf(os.Stderr, "the test IdP did not start: %v %q\n", err, line)
			_ = idp.Process.Kill()
			os.Exit(1)
		}
		issuer = ready.Issuer
	}
	code := m.Run()
	if idp != nil {
		_ = idp.Process.Signal(os.Interrupt)
		_ = idp.Process.Kill()
		_ = idp.Wait()
	}
	os.Exit(code)
}

func postJSON(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(issuer+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Errorf("approver: %v", err)
		return nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if out["ok"] != true {
		t.Errorf("approver refused: %v", out)
	}
	return out
}

// isolated gives each test its own config dir and no keyring (the file store is what the
// Rust CLI and this package must agree on byte for byte).
func isolated(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TERMAUTH_CONFIG_DIR", dir)
	t.Setenv("TERMAUTH_NO_KEYRING", "1")
	t.Setenv("TERMAUTH_TOKEN", "")
	t.Setenv("TERMAUTH_CLIENT_SECRET", "")
	return dir
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.App == "" {
		cfg.App = "termauth"
	}
	cfg.Issuer = issuer
	if cfg.ClientID == "" {
		cfg.ClientID = "termauth-cli"
	}
	cfg.Stderr = io.Discard
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func approveDevice(t *testing.T, action string) func(UserCode) {
	return func(u UserCode) {
		go postJSON(t, "/__test/device", map[string]any{"user_code": u.UserCode, "action": action})
	}
}

func storedRecord(t *testing.T, c *Client) *credential {
	t.Helper()
	key, _ := c.key()
	text, _, err := c.store.load(key)
	if err != nil || text == "" {
		t.Fatalf("no stored record: %v", err)
	}
	cr, err := parseCredential(text)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestDeviceLoginRefreshRotationRevocation(t *testing.T) {
	isolated(t)
	c := newClient(t, Config{Scope: "openid offline_access", ShowUserCode: approveDevice(t, "approve")})
	rep, err := c.Login(ctx(t), Device)
	if err != nil {
		t.Fatalf("device login: %v", err)
	}
	if rep.Method != "device" || rep.Profile != "default" || rep.Store.Store != "file" || !strings.Contains(rep.Scope, "offline_access") {
		t.Errorf("report %+v", rep)
	}
	tok, err := c.Token(ctx(t))
	if err != nil || tok == "" {
		t.Fatalf("token: %q %v", tok, err)
	}
	before := storedRecord(t, c)

	// The token works with any Go HTTP client through oauth2.
	hc := oauth2.NewClient(ctx(t), c.TokenSource(ctx(t)))
	resp, err := hc.Get(issuer + "/me")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("userinfo with the TokenSource: %v %v", resp, err)
	}
	var me map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me["sub"] != "alice" {
		t.Errorf("userinfo %v", me)
	}

	// Refresh when due (the client's clock moved past expiry), with rotation.
	c.clock = func() int64 { return time.Now().Add(2 * time.Hour).UnixMilli() } // the token is due
	tok2, err := c.Token(ctx(t))
	if err != nil {
		t.Fatalf("token with refresh: %v", err)
	}
	after := storedRecord(t, c)
	if tok2 == tok || after.Tokens.RefreshToken == before.Tokens.RefreshToken || after.Tokens.RefreshToken == "" {
		t.Errorf("refresh did not rotate: %q→%q", before.Tokens.RefreshToken, after.Tokens.RefreshToken)
	}
	c.clock = nil
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatalf("forced refresh: %v", err)
	}
	if st := c.Status(); st.Source != "store" || st.Grant != "device_code" || st.Decision != "use" || !st.Refreshable {
		t.Errorf("status %+v", st)
	}

	// The old refresh token is dead (rotation): the core says invalid_grant, hint reauthenticate.
	old, _ := json.Marshal(map[string]any{"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": issuer,
		"client_id": "termauth-cli", "grant": "device_code",
		"tokens": map[string]any{"access_token": "x", "token_type": "Bearer", "refresh_token": before.Tokens.RefreshToken}})
	spec, _ := c.spec(ctx(t), "refresh", map[string]any{"credential": json.RawMessage(old)})
	_, err = c.run(ctx(t), spec, nil, nil)
	var te *Error
	if !errors.As(err, &te) || te.Code != "invalid_grant" || te.Hint != HintReauthenticate || te.Status != 400 || te.Kind != "oauth" {
		t.Errorf("reused refresh token: %#v", err)
	}

	// Logout revokes at the server, then the refresh token is refused.
	final := storedRecord(t, c)
	lr, err := c.Logout(ctx(t))
	if err != nil || !lr.Removed || !lr.Revoked {
		t.Fatalf("logout %+v %v", lr, err)
	}
	old, _ = json.Marshal(map[string]any{"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": issuer,
		"client_id": "termauth-cli", "grant": "device_code",
		"tokens": map[string]any{"access_token": "x", "token_type": "Bearer", "refresh_token": final.Tokens.RefreshToken}})
	spec, _ = c.spec(ctx(t), "refresh", map[string]any{"credential": json.RawMessage(old)})
	if _, err = c.run(ctx(t), spec, nil, nil); !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Errorf("refresh after revocation: %v", err)
	}
	if _, err := c.Token(ctx(t)); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("after logout: %v", err)
	}
}

func TestDeviceDeniedAndCancelled(t *testing.T) {
	isolated(t)
	c := newClient(t, Config{Scope: "openid", ShowUserCode: approveDevice(t, "deny")})
	_, err := c.Login(ctx(t), Device)
	var te *Error
	if !errors.As(err, &te) || te.Code != "access_denied" || te.Kind != "oauth" {
		t.Errorf("denied: %v", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	c2 := newClient(t, Config{Scope: "openid", ShowUserCode: func(UserCode) { cancel() }})
	_, err = c2.Login(cctx, Device)
	if !errors.Is(err, ErrCancelled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := c2.Token(ctx(t)); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("nothing stored after cancel: %v", err)
	}
}

func TestBrowserLogin(t *testing.T) {
	isolated(t)
	c := newClient(t, Config{Scope: "openid offline_access", OpenBrowser: func(url string) error {
		// The approver plays the browser and follows the redirect to our listener.
		go postJSON(t, "/__test/authorize", map[string]any{"url": url, "action": "approve", "follow_redirect": true})
		return nil
	}})
	rep, err := c.Login(ctx(t), Browser)
	if err != nil || rep.Method != "browser" {
		t.Fatalf("browser login: %+v %v", rep, err)
	}
	if cr := storedRecord(t, c); cr.Grant != "authorization_code" || cr.Tokens.RefreshToken == "" {
		t.Errorf("record %+v", cr)
	}
}

func TestPasteLogin(t *testing.T) {
	isolated(t)
	var authURL string
	c := newClient(t, Config{Scope: "openid",
		OpenBrowser: func(url string) error { authURL = url; return nil },
		ReadRedirect: func(context.Context) (string, error) {
			out := postJSON(t, "/__test/authorize", map[string]any{"url": authURL, "action": "approve"})
			r, _ := out["redirect"].(string)
			return "  " + r + "\n", nil // as pasted
		}})
	rep, err := c.Login(ctx(t), Paste)
	if err != nil || rep.Method != "paste" {
		t.Fatalf("paste login: %+v %v", rep, err)
	}
	if tok, err := c.Token(ctx(t)); err != nil || tok == "" {
		t.Errorf("token %v", err)
	}
}

func TestClientCredentials(t *testing.T) {
	isolated(t)
	for _, tc := range []struct{ id, secret, method string }{
		{"termauth-ci-basic", "s3cr3t:with/special+chars", "basic"},
		{"termauth-ci-post", "ci-post-secret", "post"},
	} {
		c := newClient(t, Config{ClientID: tc.id, ClientSecret: tc.secret, SecretMethod: tc.method, Scope: "api:read"})
		if _, err := c.Login(ctx(t), ClientCredentials); err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		tok, err := c.Token(ctx(t))
		if err != nil || tok == "" {
			t.Fatalf("%s token: %v", tc.id, err)
		}
		// Renewal of client credentials re-runs the grant (no refresh token).
		c.clock = func() int64 { return time.Now().Add(2 * time.Hour).UnixMilli() } // the token is due
		if tok2, err := c.Token(ctx(t)); err != nil || tok2 == tok {
			t.Errorf("%s reacquire: %v", tc.id, err)
		}
	}
	bad := newClient(t, Config{ClientID: "termauth-ci-basic", ClientSecret: "wrong"})
	_, err := bad.Login(ctx(t), ClientCredentials)
	var te *Error
	if !errors.As(err, &te) || te.Code != "invalid_client" || te.Status != 401 || te.OAuthError != "invalid_client" {
		t.Errorf("bad secret: %#v", err)
	}
	none := newClient(t, Config{ClientID: "termauth-ci-basic"})
	if _, err := none.Login(ctx(t), ClientCredentials); !errors.As(err, &te) || te.Code != "missing_client_secret" {
		t.Errorf("no secret: %v", err)
	}
}

func TestPasswordAndToken(t *testing.T) {
	isolated(t)
	c := newClient(t, Config{ClientID: "termauth-password", Scope: "openid offline_access", EnablePasswordGrant: true})
	if _, err := c.Login(ctx(t), Password("alice", "wonderland")); err != nil {
		t.Fatalf("password: %v", err)
	}
	if cr := storedRecord(t, c); cr.Grant != "password" || cr.Tokens.RefreshToken == "" {
		t.Errorf("password record %+v", cr)
	}
	_, err := c.Login(ctx(t), Password("alice", "nope"))
	var te *Error
	if !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Errorf("bad password: %v", err)
	}
	off := newClient(t, Config{ClientID: "termauth-password", Profile: "off"})
	if _, err := off.Login(ctx(t), Password("alice", "wonderland")); !errors.As(err, &te) || te.Kind != "usage" {
		t.Errorf("password grant not enabled: %v", err)
	}

	k := newClient(t, Config{Profile: "pat"})
	if _, err := k.Login(ctx(t), Token("pat-123")); err != nil {
		t.Fatal(err)
	}
	if tok, err := k.Token(ctx(t)); err != nil || tok != "pat-123" {
		t.Errorf("api key %q %v", tok, err)
	}
	if _, err := k.Login(ctx(t), Token("has space")); !errors.As(err, &te) || te.Kind != "usage" {
		t.Errorf("bad key accepted: %v", err)
	}
	if err := k.Refresh(ctx(t)); !errors.As(err, &te) || te.Code != "not_refreshable" {
		t.Errorf("refresh api key: %v", err)
	}
	t.Setenv("TERMAUTH_TOKEN", "from-env")
	if tok, _ := k.Token(ctx(t)); tok != "from-env" || k.Status().Source != "env" {
		t.Errorf("env token %q", tok)
	}
}

// The cross-language round trip: the Rust CLI writes, Go reads and renews; Go writes, the
// Rust CLI reads; the Rust CLI logs out, Go sees it.
func TestCrossLanguageStore(t *testing.T) {
	cli, _ := filepath.Abs(filepath.Join("..", "..", "target", "debug", "termauth"))
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the Rust CLI is not built (%s): cargo build -p termauth", cli)
	}
	isolated(t)
	rust := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(cli, args...)
		cmd.Env = append(os.Environ(), "TERMAUTH_ISSUER="+issuer)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, errb.String())
		}
		return strings.TrimSpace(out.String()), err
	}

	// 1. Rust logs in (client credentials), Go reads the same record.
	t.Setenv("TERMAUTH_CLIENT_SECRET", "ci-post-secret")
	if _, err := rust("", "login", "--client-credentials", "--client-id", "termauth-ci-post", "--client-auth", "post", "--scope", "api:read", "--store", "file"); err != nil {
		t.Fatalf("rust login: %v", err)
	}
	rustTok, err := rust("", "token", "--client-id", "termauth-ci-post", "--client-auth", "post")
	if err != nil {
		t.Fatal(err)
	}
	g := newClient(t, Config{ClientID: "termauth-ci-post", SecretMethod: "post"})
	if tok, err := g.Token(ctx(t)); err != nil || tok != rustTok {
		t.Fatalf("Go read %q (%v), Rust printed %q", tok, err, rustTok)
	}
	// Go renews it (reacquire, under the shared lock); Rust sees the new token.
	if err := g.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	goTok, _ := g.Token(ctx(t))
	if rustTok2, _ := rust("", "token", "--client-id", "termauth-ci-post", "--client-auth", "post"); rustTok2 != goTok || goTok == rustTok {
		t.Errorf("after Go's renewal: Rust %q, Go %q", rustTok2, goTok)
	}
	t.Setenv("TERMAUTH_CLIENT_SECRET", "")

	// 2. Go logs in with the device flow (profile "work"); Rust reads and refreshes it; Go
	//    reads the rotated record.
	d := newClient(t, Config{Profile: "work", Scope: "openid offline_access", ShowUserCode: approveDevice(t, "approve")})
	if _, err := d.Login(ctx(t), Device); err != nil {
		t.Fatal(err)
	}
	goTok, _ = d.Token(ctx(t))
	rustTok, err = rust("", "token", "--client-id", "termauth-cli", "--profile", "work")
	if err != nil || rustTok != goTok {
		t.Fatalf("Rust read %q (%v), Go has %q", rustTok, err, goTok)
	}
	rtBefore := storedRecord(t, d).Tokens.RefreshToken
	if _, err := rust("", "refresh", "--client-id", "termauth-cli", "--profile", "work"); err != nil {
		t.Fatalf("rust refresh: %v", err)
	}
	if rt := storedRecord(t, d).Tokens.RefreshToken; rt == rtBefore {
		t.Error("Rust's refresh did not rotate the record Go reads")
	}
	if tok, err := d.Token(ctx(t)); err != nil || tok == goTok {
		t.Errorf("Go after Rust's refresh: %q %v", tok, err)
	}
	status, err := rust("", "status", "--json", "--client-id", "termauth-cli", "--profile", "work")
	var rs Status
	if err != nil || json.Unmarshal([]byte(status), &rs) != nil || rs.Grant != "device_code" || rs.Store.Store != "file" || rs.Profile != "work" {
		t.Errorf("rust status: %s %v", status, err)
	}

	// 3. Rust logs out (revokes, deletes); Go is logged out.
	if _, err := rust("", "logout", "--client-id", "termauth-cli", "--profile", "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Token(ctx(t)); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("Go after Rust's logout: %v", err)
	}
}
