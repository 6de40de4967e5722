package termauth

// End-to-end tests against the real authorization server in tests/idp (oidc-provider plus
// a headless approver), unattended: every login method (Auto in CI, over SSH and on a
// desktop; the device → browser/paste fallback; denial and cancel), refresh with rotation,
// revocation, profiles, the store shared with the Rust CLI, and the cross-language refresh
// race. TestMain starts the IdP; set TERMAUTH_IDP_ISSUER to use a running one instead.
//
// The test binary also plays other programs when TERMAUTH_GO_TEST_ROLE says so: a browser
// started through $BROWSER (it asks the approver to approve and follow the redirect), so
// the real browser launching is tested, and a CLI that gets Ctrl-C (signal_test.go).

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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

var issuer string

func TestMain(m *testing.M) {
	switch role := os.Getenv("TERMAUTH_GO_TEST_ROLE"); role {
	case "browser":
		os.Exit(playBrowser(os.Args[len(os.Args)-1]))
	case "cli-device", "cli-hang":
		os.Exit(playCLI(role))
	}
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
		_ = idp.Process.Kill()
		_ = idp.Wait()
	}
	os.Exit(code)
}

// playBrowser is the test binary as $BROWSER: approve the login at url and follow the redirect.
func playBrowser(authURL string) int {
	b, _ := json.Marshal(map[string]any{"url": authURL, "action": "approve", "follow_redirect": true})
	resp, err := http.Post(os.Getenv("TERMAUTH_GO_TEST_ISSUER")+"/__test/authorize", "application/json", bytes.NewReader(b))
	if err != nil {
		return 1
	}
	resp.Body.Close()
	return 0
}

func approver(t *testing.T, path string, body any) map[string]any {
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

// unsetenv removes a variable for the test (the session reads the process's environment).
func unsetenv(t *testing.T, name string) {
	old, had := os.LookupEnv(name)
	os.Unsetenv(name)
	t.Cleanup(func() {
		if had {
			os.Setenv(name, old)
		} else {
			os.Unsetenv(name)
		}
	})
}

// isolated gives each test its own config dir, no keyring (the file store is what every
// language must agree on byte for byte) and no CI, SSH, display or browser, so Auto's
// choice is the test's.
func isolated(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TERMAUTH_CONFIG_DIR", dir)
	t.Setenv("TERMAUTH_NO_KEYRING", "1")
	for _, v := range []string{"TERMAUTH_TOKEN", "TERMAUTH_CLIENT_SECRET", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE",
		"JENKINS_URL", "TF_BUILD", "CIRCLECI", "TRAVIS", "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER", "SSH_CONNECTION",
		"SSH_CLIENT", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY", "BROWSER"} {
		unsetenv(t, v)
	}
	return dir
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.App == "" {
		cfg.App = "termauth"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = issuer
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "termauth-cli"
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	cfg.NoSignalHandling = true
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func approveDevice(t *testing.T, action string) func(UserCode) {
	return func(u UserCode) {
		go approver(t, "/__test/device", map[string]any{"user_code": u.UserCode, "action": action})
	}
}

// followBrowser plays the user's browser: approve (or deny) and follow the redirect to the
// listener; the callback's answer goes to page.
func followBrowser(t *testing.T, action string, page chan<- map[string]any) func(string) {
	return func(u string) {
		go func() {
			out := approver(t, "/__test/authorize", map[string]any{"url": u, "action": action, "follow_redirect": true})
			if page != nil {
				page <- out
			}
		}()
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return c
}

type record struct {
	path  string
	Grant string `json:"grant"`
	Kind  string `json:"kind"`
	Tok   struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresAt    int64  `json:"expires_at"`
	} `json:"tokens"`
}

// storedRecord reads the one file-store record of profile in dir (as the other languages'
// tests read it: the store's format is the contract).
func storedRecord(t *testing.T, dir, profile string) record {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "credentials", profile+"@*.json"))
	if len(files) != 1 {
		t.Fatalf("expected one record of %s in %s, found %v", profile, dir, files)
	}
	b, err := os.ReadFile(files[0])
	var r record
	if err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("unreadable record %s: %v", files[0], err)
	}
	r.path = files[0]
	return r
}

// expireRecord makes the stored access token look expired, so the next Token renews it.
func expireRecord(t *testing.T, dir, profile string) {
	t.Helper()
	r := storedRecord(t, dir, profile)
	var v map[string]any
	b, _ := os.ReadFile(r.path)
	_ = json.Unmarshal(b, &v)
	v["tokens"].(map[string]any)["expires_at"] = time.Now().Add(-time.Second).UnixMilli()
	b, _ = json.Marshal(v)
	if err := os.WriteFile(r.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawRefresh sends a refresh token to the IdP directly: how the tests see whether it lives.
func rawRefresh(t *testing.T, refreshToken string) string {
	resp, err := http.PostForm(issuer+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {"termauth-cli"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	e, _ := out["error"].(string)
	return e
}

func TestDeviceLoginRefreshRotationRevocation(t *testing.T) {
	dir := isolated(t)
	var stderr bytes.Buffer
	c := newClient(t, Config{Scope: "openid offline_access", ShowUserCode: approveDevice(t, "approve"), Stderr: &stderr})
	rep, err := c.Login(ctx(t), Device)
	if err != nil {
		t.Fatalf("device login: %v", err)
	}
	if rep.Method != "device" || rep.Profile != "default" || rep.Store.Store != "file" || !strings.Contains(rep.Scope, "offline_access") || rep.Text == "" {
		t.Errorf("report %+v", rep)
	}
	// Who logged in: the ID token's claims (scope openid), in the report and in status.
	if rep.Account == "" || !strings.HasPrefix(rep.Text, "Logged in as "+rep.Account+" (method: device") {
		t.Errorf("account %q in %q", rep.Account, rep.Text)
	}
	if st, err := c.Status(ctx(t)); err != nil || st.Account != rep.Account {
		t.Errorf("status account %+v %v", st, err)
	}
	tok, err := c.Token(ctx(t))
	if err != nil || tok == "" {
		t.Fatalf("token: %q %v", tok, err)
	}
	before := storedRecord(t, dir, "default")

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

	// Renewed when due, with rotation. (Not checked at the server here: oidc-provider
	// revokes the whole grant when a rotated-out refresh token is used again.)
	expireRecord(t, dir, "default")
	tok2, err := c.Token(ctx(t))
	after := storedRecord(t, dir, "default")
	if err != nil || tok2 == tok || after.Tok.RefreshToken == before.Tok.RefreshToken || after.Tok.RefreshToken == "" {
		t.Fatalf("refresh when due: %v, %q→%q", err, before.Tok.RefreshToken, after.Tok.RefreshToken)
	}
	// A forced refresh says so in the core's words.
	r, err := c.Refresh(ctx(t))
	if err != nil || r.Text == "" || r.Token == tok2 || r.Source != "store" {
		t.Fatalf("forced refresh: %v %v", r, err)
	}
	if st, err := c.Status(ctx(t)); err != nil || st.Source != "store" || st.Grant != "device_code" || st.Decision != "use" || !st.Refreshable ||
		st.Problem != nil || ExitCode(st.Problem) != 0 {
		t.Errorf("status %+v %v", st, err)
	}

	// Logout revokes at the server, then the refresh token is refused.
	final := storedRecord(t, dir, "default")
	lr, err := c.Logout(ctx(t))
	if err != nil || !lr.Removed || !lr.Revoked || lr.Text == "" {
		t.Fatalf("logout %+v %v", lr, err)
	}
	if e := rawRefresh(t, final.Tok.RefreshToken); e != "invalid_grant" {
		t.Errorf("refresh after revocation: %q", e)
	}
	_, err = c.Token(ctx(t))
	if !errors.Is(err, ErrNotLoggedIn) || ExitCode(err) != 3 {
		t.Errorf("after logout: %v (exit %d)", err, ExitCode(err))
	}
	// status for scripts: the problem, with the CLI's exit code (3: log in).
	if st, err := c.Status(ctx(t)); err != nil || st.Source != "none" || st.Problem == nil ||
		!errors.Is(st.Problem, ErrNotLoggedIn) || ExitCode(st.Problem) != 3 {
		t.Errorf("status after logout: %+v %v", st, err)
	}
	// Everything printed came from the session: the device prompt (the store warning is
	// not shown for an explicit file store... here the store is auto, with no keyring).
	if !strings.Contains(stderr.String(), "warning: ") || strings.Contains(stderr.String(), "\x1b") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestDeviceDeniedAndCancelled(t *testing.T) {
	dir := isolated(t)
	c := newClient(t, Config{Scope: "openid", ShowUserCode: approveDevice(t, "deny")})
	_, err := c.Login(ctx(t), Device)
	var te *Error
	if !errors.As(err, &te) || te.Code != "access_denied" || te.Kind != "oauth" || ExitCode(err) != 3 {
		t.Errorf("denied: %v", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	c2 := newClient(t, Config{Scope: "openid", ShowUserCode: func(UserCode) { cancel() }})
	start := time.Now()
	_, err = c2.Login(cctx, Device)
	if !errors.Is(err, ErrCancelled) || ExitCode(err) != 130 || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled: %v (exit %d) after %v", err, ExitCode(err), time.Since(start))
	}
	if _, err := c2.Token(ctx(t)); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("nothing stored after cancel: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "credentials", "*")); len(files) != 0 {
		t.Errorf("files left after a cancel: %v", files)
	}
}

func TestBrowserLoginAndTheFailurePageOnDenial(t *testing.T) {
	dir := isolated(t)
	page := make(chan map[string]any, 1)
	c := newClient(t, Config{Scope: "openid offline_access", ShowAuthorizationURL: followBrowser(t, "approve", page)})
	rep, err := c.Login(ctx(t), Browser)
	if err != nil || rep.Method != "browser" {
		t.Fatalf("browser login: %+v %v", rep, err)
	}
	if r := storedRecord(t, dir, "default"); r.Grant != "authorization_code" || r.Tok.RefreshToken == "" {
		t.Errorf("record %+v", r)
	}
	approved := <-page
	if approved["callback_status"] != float64(200) || !strings.Contains(fmt.Sprint(approved["callback_body"]), "approved") {
		t.Errorf("the page after approval: %v", approved)
	}

	// Denied: the browser gets the session's failure page, not "logged in".
	c2 := newClient(t, Config{Scope: "openid", Profile: "denied", ShowAuthorizationURL: followBrowser(t, "deny", page)})
	_, err = c2.Login(ctx(t), Browser)
	var te *Error
	if !errors.As(err, &te) || te.Code != "access_denied" {
		t.Errorf("denied: %v", err)
	}
	denied := <-page
	body := fmt.Sprint(denied["callback_body"])
	if denied["callback_status"] != float64(200) || !strings.Contains(body, "failed") || strings.Contains(body, "approved") {
		t.Errorf("the page after denial: %v", denied)
	}
}

// The real browser launching: $BROWSER is this test binary (with %s), which approves.
func TestBrowserFromTheBROWSERVariable(t *testing.T) {
	dir := isolated(t)
	self, _ := os.Executable()
	t.Setenv("BROWSER", "/nonexistent/browser:"+self+" -test.run=^$ %s")
	t.Setenv("TERMAUTH_GO_TEST_ROLE", "browser")
	t.Setenv("TERMAUTH_GO_TEST_ISSUER", issuer)
	var stderr bytes.Buffer
	c := newClient(t, Config{Scope: "openid", Stderr: &stderr})
	rep, err := c.Login(ctx(t), Auto) // BROWSER set: a desktop, so Auto is the browser
	if err != nil || rep.Method != "browser" {
		t.Fatalf("browser through $BROWSER: %+v %v\n%s", rep, err, stderr.String())
	}
	if r := storedRecord(t, dir, "default"); r.Grant != "authorization_code" {
		t.Errorf("record %+v", r)
	}
}

func TestPasteLogin(t *testing.T) {
	isolated(t)
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var stderr syncBuffer
	c := newClient(t, Config{Scope: "openid", Stdin: stdinR, Stderr: &stderr, ShowAuthorizationURL: func(u string) {
		go func() {
			out := approver(t, "/__test/authorize", map[string]any{"url": u, "action": "approve"})
			r, _ := out["redirect"].(string)
			fmt.Fprint(stdinW, "\nnot an address\n") // a blank line is ignored; this one is refused
			fmt.Fprint(stdinW, "  "+r+"  \n")        // as pasted
		}()
	}})
	rep, err := c.Login(ctx(t), Paste)
	if err != nil || rep.Method != "paste" {
		t.Fatalf("paste login: %+v %v", rep, err)
	}
	if tok, err := c.Token(ctx(t)); err != nil || tok == "" {
		t.Errorf("token %v", err)
	}
	if !strings.Contains(stderr.String(), "warning: ") {
		t.Errorf("the refused paste was not reported: %q", stderr.String())
	}
	// Standard input closed before an address: stdin_closed.
	c2 := newClient(t, Config{Scope: "openid", Profile: "closed", Stdin: strings.NewReader("")})
	_, err = c2.Login(ctx(t), Paste)
	var te *Error
	if !errors.As(err, &te) || te.Code != "stdin_closed" {
		t.Errorf("closed stdin: %v", err)
	}
}

func TestAuto(t *testing.T) {
	dir := isolated(t)
	// In CI with a secret: client credentials.
	t.Setenv("CI", "true")
	t.Setenv("TERMAUTH_CLIENT_SECRET", "ci-post-secret")
	ci := newClient(t, Config{ClientID: "termauth-ci-post", SecretMethod: "post", Scope: "api:read"})
	if rep, err := ci.Login(ctx(t), Auto); err != nil || rep.Method != "client_credentials" {
		t.Errorf("auto in CI: %+v %v", rep, err)
	}
	// In CI without one: refused before anything is sent, in the core's words.
	t.Setenv("TERMAUTH_CLIENT_SECRET", "")
	_, err := newClient(t, Config{Profile: "ci2"}).Login(ctx(t), Auto)
	var te *Error
	if !errors.As(err, &te) || te.Kind != "usage" || te.Message == "" {
		t.Errorf("auto in CI without a secret: %v", err)
	}
	unsetenv(t, "CI")
	// Over SSH: the device flow.
	t.Setenv("SSH_CONNECTION", "10.0.0.1 5555 10.0.0.2 22")
	ssh := newClient(t, Config{Profile: "ssh", Scope: "openid", ShowUserCode: approveDevice(t, "approve")})
	if rep, err := ssh.Login(ctx(t), Auto); err != nil || rep.Method != "device" {
		t.Errorf("auto over SSH: %+v %v", rep, err)
	}
	unsetenv(t, "SSH_CONNECTION")
	// On a desktop: the browser, opened through the OpenBrowser hook.
	t.Setenv("DISPLAY", ":0")
	opened := 0
	desk := newClient(t, Config{Profile: "desk", Scope: "openid", OpenBrowser: func(u string) bool {
		opened++
		followBrowser(t, "approve", nil)(u)
		return true
	}})
	if rep, err := desk.Login(ctx(t), Auto); err != nil || rep.Method != "browser" || opened != 1 {
		t.Errorf("auto on a desktop: %+v %v (opened %d)", rep, err, opened)
	}
	if ps, err := desk.Profiles(ctx(t)); err != nil || len(ps) != 2 || !ps[0].Active || ps[0].Name != "desk" {
		t.Errorf("profiles %v %v", ps, err)
	}
	_ = dir
}

// The server has no device endpoint: Device, asked for by name, is a configuration error
// (exit 5) that names the other methods; Auto picks paste away from a desktop and the
// browser on one.
func TestDeviceWithoutEndpoint(t *testing.T) {
	isolated(t)
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	delete(meta, "device_authorization_endpoint")
	noDevice, _ := json.Marshal(meta)

	device := newClient(t, Config{Scope: "openid", Metadata: noDevice})
	_, err = device.Login(ctx(t), Device)
	var te *Error
	if !errors.As(err, &te) || te.Code != "no_device_endpoint" || ExitCode(err) != 5 || !strings.Contains(te.Message, "browser") {
		t.Errorf("device without a device endpoint: %v", err)
	}

	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	paste := newClient(t, Config{Scope: "openid", Metadata: noDevice, Stdin: stdinR,
		ShowAuthorizationURL: func(u string) {
			go func() {
				out := approver(t, "/__test/authorize", map[string]any{"url": u, "action": "approve"})
				fmt.Fprintln(stdinW, out["redirect"])
			}()
		}})
	if rep, err := paste.Login(ctx(t), Auto); err != nil || rep.Method != "paste" {
		t.Errorf("auto without a device endpoint or a display: %+v %v", rep, err)
	}
	t.Setenv("DISPLAY", ":0")
	browser := newClient(t, Config{Profile: "desk", Scope: "openid", Metadata: noDevice, OpenBrowser: func(u string) bool {
		followBrowser(t, "approve", nil)(u)
		return true
	}})
	if rep, err := browser.Login(ctx(t), Auto); err != nil || rep.Method != "browser" {
		t.Errorf("auto on a desktop: %+v %v", rep, err)
	}
}

func TestClientCredentials(t *testing.T) {
	dir := isolated(t)
	for _, tc := range []struct{ id, secret, method string }{
		{"termauth-ci-basic", "s3cr3t:with/special+chars", "basic"},
		{"termauth-ci-post", "ci-post-secret", "post"},
	} {
		c := newClient(t, Config{ClientID: tc.id, ClientSecret: tc.secret, SecretMethod: tc.method, Scope: "api:read", Profile: tc.method})
		if _, err := c.Login(ctx(t), ClientCredentials); err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		tok, err := c.Token(ctx(t))
		if err != nil || tok == "" {
			t.Fatalf("%s token: %v", tc.id, err)
		}
		// Renewing client credentials runs the grant again (no refresh token).
		expireRecord(t, dir, tc.method)
		if tok2, err := c.Token(ctx(t)); err != nil || tok2 == tok {
			t.Errorf("%s reacquire: %v", tc.id, err)
		}
	}
	// Config.Debug (as TERMAUTH_DEBUG=1): each HTTP exchange on Stderr, no token and no
	// client secret in it (issue 13).
	var trace syncBuffer
	dc := newClient(t, Config{ClientID: "termauth-ci-basic", ClientSecret: "s3cr3t:with/special+chars", Scope: "api:read",
		Profile: "debug", Debug: true, Stderr: &trace})
	if _, err := dc.Login(ctx(t), ClientCredentials); err != nil {
		t.Fatal(err)
	}
	dtok, err := dc.Token(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	got := trace.String()
	if !strings.Contains(got, "-> POST ") || !strings.Contains(got, "grant_type=client_credentials") || !strings.Contains(got, "access_token: [redacted]") {
		t.Errorf("trace: %q", got)
	}
	if strings.Contains(got, dtok) || strings.Contains(got, "s3cr3t") {
		t.Errorf("the trace shows a secret: %q", got)
	}
	bad := newClient(t, Config{ClientID: "termauth-ci-basic", ClientSecret: "wrong"})
	_, err = bad.Login(ctx(t), ClientCredentials)
	var te *Error
	if !errors.As(err, &te) || te.Code != "invalid_client" || te.Status != 401 || te.OAuthError != "invalid_client" {
		t.Errorf("bad secret: %#v", err)
	}
	none := newClient(t, Config{ClientID: "termauth-ci-basic"})
	if _, err := none.Login(ctx(t), ClientCredentials); !errors.As(err, &te) || te.Code != "missing_client_secret" || ExitCode(err) != 5 {
		t.Errorf("no secret: %v", err)
	}
}

func TestPasswordTokenAndProfiles(t *testing.T) {
	isolated(t)
	c := newClient(t, Config{ClientID: "termauth-password", Scope: "openid offline_access", EnablePasswordGrant: true})
	if rep, err := c.Login(ctx(t), Password("alice", "wonderland")); err != nil || rep.Method != "password" {
		t.Fatalf("password: %v", err)
	}
	// A token limited to a scope within the grant: a refresh, not stored.
	stored, _ := c.Token(ctx(t))
	if narrow, err := c.TokenFor(ctx(t), "openid"); err != nil || narrow.Token == stored {
		t.Errorf("token for openid: %v %v", narrow, err)
	}
	if again, _ := c.Token(ctx(t)); again != stored {
		t.Errorf("the stored token changed")
	}
	if _, err := c.TokenFor(ctx(t), "api:admin"); !errorCode(err, "scope_not_granted") {
		t.Errorf("a scope beyond the grant: %v", err)
	}
	// A resource (RFC 8707) goes to the server, which names what it refuses; blank asks are Token.
	if _, err := c.TokenFor(ctx(t), "", "https://unknown.example/"); !errorCode(err, "invalid_target") {
		t.Errorf("an unknown resource: %v", err)
	}
	if r, err := c.TokenFor(ctx(t), " "); err != nil || r.Token != stored {
		t.Errorf("a blank scope is Token: %v %v", r, err)
	}
	t.Setenv("TERMAUTH_TOKEN", "from-env")
	if _, err := c.TokenFor(ctx(t), "openid"); !errorCode(err, "scoped_token_from_env") {
		t.Errorf("a scope while TERMAUTH_TOKEN is set: %v", err)
	}
	os.Unsetenv("TERMAUTH_TOKEN")
	_, err := c.Login(ctx(t), Password("alice", "nope"))
	var te *Error
	if !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Errorf("bad password: %v", err)
	}
	off := newClient(t, Config{ClientID: "termauth-password", Profile: "off"})
	if _, err := off.Login(ctx(t), Password("alice", "wonderland")); !errors.As(err, &te) || te.Kind != "usage" {
		t.Errorf("password grant not enabled: %v", err)
	}

	a := newClient(t, Config{Profile: "a"})
	if _, err := a.Login(ctx(t), Token("pat-a")); err != nil {
		t.Fatal(err)
	}
	b := newClient(t, Config{Profile: "b"})
	if _, err := b.Login(ctx(t), TokenInHeader("pat-b", "X-API-Key", "")); err != nil {
		t.Fatal(err)
	}
	if r, err := b.TokenReport(ctx(t)); err != nil || r.Token != "pat-b" || r.Header != [2]string{"X-API-Key", "pat-b"} {
		t.Errorf("api key in a header: %v %v", r, err)
	}
	active := newClient(t, Config{}) // no profile: the active one
	if ps, err := active.Profiles(ctx(t)); err != nil || len(ps) != 2 || !ps[1].Active || ps[1].Name != "b" {
		t.Errorf("profiles %+v %v", ps, err)
	}
	// Every stored credential: the password client's and the two profiles of the other.
	if all, err := active.StatusAll(ctx(t)); err != nil || len(all) != 3 || all[0].ClientID != "termauth-cli" ||
		all[0].Profile != "a" || all[1].Profile != "b" || all[2].ClientID != "termauth-password" || all[2].Source != "store" {
		t.Errorf("status_all %+v %v", all, err)
	}
	if err := active.UseProfile(ctx(t), "a"); err != nil {
		t.Fatal(err)
	}
	if tok, err := active.Token(ctx(t)); err != nil || tok != "pat-a" {
		t.Errorf("active profile a: %q %v", tok, err)
	}
	if err := active.UseProfile(ctx(t), "nobody"); !errors.As(err, &te) || te.Code != "unknown_profile" {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := a.Login(ctx(t), Token("has space")); !errors.As(err, &te) || te.Kind != "usage" {
		t.Errorf("bad key accepted: %v", err)
	}
	if _, err := a.Refresh(ctx(t)); !errors.As(err, &te) || te.Code != "not_refreshable" {
		t.Errorf("refresh of an API key: %v", err)
	}
	t.Setenv("TERMAUTH_TOKEN", "from-env")
	st, _ := a.Status(ctx(t))
	if tok, _ := a.Token(ctx(t)); tok != "from-env" || st.Source != "env" {
		t.Errorf("env token %q %+v", tok, st)
	}
}

// rustCLI runs the Rust CLI (target/debug/termauth) with the test's environment.
func rustCLI(t *testing.T) func(args ...string) (string, error) {
	cli, _ := filepath.Abs(filepath.Join("..", "..", "target", "debug", "termauth"))
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the Rust CLI is not built (%s): cargo build -p termauth", cli)
	}
	return func(args ...string) (string, error) {
		cmd := exec.Command(cli, append(args, "--issuer", issuer)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, errb.String())
		}
		return strings.TrimSpace(out.String()), err
	}
}

// The cross-language round trip: the Rust CLI writes, Go reads and renews; Go writes, the
// Rust CLI reads and refreshes; the Rust CLI logs out, Go sees it.
func TestCrossLanguageStore(t *testing.T) {
	dir := isolated(t)
	rust := rustCLI(t)
	t.Setenv("TERMAUTH_CLIENT_SECRET", "ci-post-secret")
	if _, err := rust("login", "--client-credentials", "--client-id", "termauth-ci-post", "--client-auth", "post", "--scope", "api:read", "--store", "file"); err != nil {
		t.Fatalf("rust login: %v", err)
	}
	rustTok, err := rust("token", "--client-id", "termauth-ci-post", "--client-auth", "post")
	if err != nil {
		t.Fatal(err)
	}
	g := newClient(t, Config{ClientID: "termauth-ci-post", SecretMethod: "post"})
	if tok, err := g.Token(ctx(t)); err != nil || tok != rustTok {
		t.Fatalf("Go read %q (%v), Rust printed %q", tok, err, rustTok)
	}
	if _, err := g.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	goTok, _ := g.Token(ctx(t))
	if rustTok2, _ := rust("token", "--client-id", "termauth-ci-post", "--client-auth", "post"); rustTok2 != goTok || goTok == rustTok {
		t.Errorf("after Go's renewal: Rust %q, Go %q", rustTok2, goTok)
	}
	t.Setenv("TERMAUTH_CLIENT_SECRET", "")

	d := newClient(t, Config{Profile: "work", Scope: "openid offline_access", ShowUserCode: approveDevice(t, "approve")})
	if _, err := d.Login(ctx(t), Device); err != nil {
		t.Fatal(err)
	}
	goTok, _ = d.Token(ctx(t))
	rustTok, err = rust("token", "--client-id", "termauth-cli", "--profile", "work")
	if err != nil || rustTok != goTok {
		t.Fatalf("Rust read %q (%v), Go has %q", rustTok, err, goTok)
	}
	rtBefore := storedRecord(t, dir, "work").Tok.RefreshToken
	if _, err := rust("refresh", "--client-id", "termauth-cli", "--profile", "work"); err != nil {
		t.Fatalf("rust refresh: %v", err)
	}
	if rt := storedRecord(t, dir, "work").Tok.RefreshToken; rt == rtBefore {
		t.Error("Rust's refresh did not rotate the record Go reads")
	}
	if tok, err := d.Token(ctx(t)); err != nil || tok == goTok {
		t.Errorf("Go after Rust's refresh: %q %v", tok, err)
	}
	status, err := rust("status", "--json", "--client-id", "termauth-cli", "--profile", "work")
	var rs Status
	if err != nil || json.Unmarshal([]byte(status), &rs) != nil || rs.Grant != "device_code" || rs.Store == nil || rs.Store.Store != "file" || rs.Profile != "work" {
		t.Errorf("rust status: %s %v", status, err)
	}
	if _, err := rust("logout", "--client-id", "termauth-cli", "--profile", "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Token(ctx(t)); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("Go after Rust's logout: %v", err)
	}
}

// countingProxy stands in front of the IdP's token endpoint: it records the refresh
// requests and holds each token response 400 ms, so every racer is waiting on the lock
// while the one refresh is in flight.
type countingProxy struct {
	mu        sync.Mutex
	refreshes []string // the refresh tokens sent
	firstAt   time.Time
	server    *http.Server
	url       string
}

func startCountingProxy(t *testing.T) *countingProxy {
	p := &countingProxy{}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if form.Get("grant_type") == "refresh_token" {
			p.mu.Lock()
			if len(p.refreshes) == 0 {
				p.firstAt = time.Now()
			}
			p.refreshes = append(p.refreshes, form.Get("refresh_token"))
			p.mu.Unlock()
		}
		time.Sleep(400 * time.Millisecond)
		req, _ := http.NewRequest("POST", issuer+"/token", bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.server = &http.Server{Handler: mux}
	p.url = "http://" + ln.Addr().String()
	go func() { _ = p.server.Serve(ln) }()
	t.Cleanup(func() { _ = p.server.Close() })
	return p
}

// TestCrossLanguageRace: Go and Rust processes race one expired credential; the shared
// lock lets exactly one refresh request reach the server, and every process prints the
// same new token. The Go processes are internal/racer (what the lead's native/tests/race.rs
// can spawn too).
func TestCrossLanguageRace(t *testing.T) {
	dir := isolated(t)
	racer := filepath.Join(t.TempDir(), "racer")
	if out, err := exec.Command("go", "build", "-o", racer, "./internal/racer").CombinedOutput(); err != nil {
		t.Fatalf("building the Go racer: %v\n%s", err, out)
	}
	c := newClient(t, Config{Scope: "openid offline_access", ShowUserCode: approveDevice(t, "approve")})
	if _, err := c.Login(ctx(t), Device); err != nil {
		t.Fatal(err)
	}
	// Point every process's token endpoint at the proxy, through the discovery cache the
	// login wrote (one file, the same for every language).
	proxy := startCountingProxy(t)
	caches, _ := filepath.Glob(filepath.Join(dir, "metadata", "*.json"))
	if len(caches) != 1 {
		t.Fatalf("metadata cache: %v", caches)
	}
	b, _ := os.ReadFile(caches[0])
	var cache map[string]any
	_ = json.Unmarshal(b, &cache)
	cache["metadata"].(map[string]any)["token_endpoint"] = proxy.url + "/token"
	b, _ = json.Marshal(cache)
	_ = os.WriteFile(caches[0], b, 0o600)
	old := storedRecord(t, dir, "default")
	expireRecord(t, dir, "default")

	cli, _ := filepath.Abs(filepath.Join("..", "..", "target", "debug", "termauth"))
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the Rust CLI is not built (%s): cargo build -p termauth", cli)
	}
	var cmds []*exec.Cmd
	for i := 0; i < 8; i++ {
		prog := racer
		if i%2 == 1 {
			prog = cli
		}
		cmd := exec.Command(prog, "token", "--issuer", issuer, "--client-id", "termauth-cli")
		cmd.Stderr = new(bytes.Buffer)
		cmd.Stdout = new(bytes.Buffer)
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	lastStart := time.Now()
	tokens := map[string]int{}
	for i, cmd := range cmds {
		err := cmd.Wait()
		out := strings.TrimSpace(cmd.Stdout.(*bytes.Buffer).String())
		if err != nil || out == "" {
			t.Errorf("racer %d (%s): %v %s", i, filepath.Base(cmd.Path), err, cmd.Stderr)
			continue
		}
		tokens[out]++
	}
	proxy.mu.Lock()
	refreshes, firstAt := append([]string(nil), proxy.refreshes...), proxy.firstAt
	proxy.mu.Unlock()
	if len(refreshes) > 0 && lastStart.After(firstAt.Add(400*time.Millisecond)) {
		t.Errorf("the processes did not overlap the refresh")
	}
	after := storedRecord(t, dir, "default")
	t.Logf("8 processes (4 Go, 4 Rust): refresh requests %d, distinct tokens %d", len(refreshes), len(tokens))
	if len(refreshes) != 1 || refreshes[0] != old.Tok.RefreshToken {
		t.Errorf("expected exactly one refresh with the old refresh token, saw %d", len(refreshes))
	}
	if len(tokens) != 1 || tokens[after.Tok.AccessToken] != 8 || after.Tok.AccessToken == old.Tok.AccessToken {
		t.Errorf("every process must print the one new token: %d distinct", len(tokens))
	}
}

// syncBuffer is a bytes.Buffer safe for the goroutines of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Metadata and the credential's lock: a second taker waits for the first; the Rust CLI
// renewing the credential waits for Go's lock too.
func TestMetadataAndLock(t *testing.T) {
	dir := isolated(t)
	c := newClient(t, Config{Scope: "openid offline_access", ShowUserCode: approveDevice(t, "approve")})
	meta, err := c.Metadata(ctx(t))
	var m struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err != nil || json.Unmarshal(meta, &m) != nil || m.Issuer != issuer || m.TokenEndpoint == "" {
		t.Fatalf("metadata %s %v", meta, err)
	}
	if _, err := c.Login(ctx(t), Device); err != nil {
		t.Fatal(err)
	}
	lock, err := c.Lock(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "credentials", "default@*.lock")); len(files) != 1 {
		t.Fatalf("lock file: %v", files)
	}
	expireRecord(t, dir, "default")
	cli, _ := filepath.Abs(filepath.Join("..", "..", "target", "debug", "termauth"))
	rust := exec.Command(cli, "token", "--issuer", issuer, "--client-id", "termauth-cli")
	var rustOut bytes.Buffer
	rust.Stdout = &rustOut
	if err := rust.Start(); err != nil {
		t.Fatal(err)
	}
	second := make(chan time.Time, 1)
	go func() {
		l2, err := c.Lock(context.Background())
		second <- time.Now()
		if err == nil {
			_, _ = l2.Unlock(context.Background())
		}
	}()
	time.Sleep(500 * time.Millisecond)
	released := time.Now()
	if ok, err := lock.Unlock(ctx(t)); !ok || err != nil {
		t.Errorf("unlock: %v %v", ok, err)
	}
	if got := <-second; got.Before(released) {
		t.Error("the second taker did not wait for the lock")
	}
	if err := rust.Wait(); err != nil || strings.TrimSpace(rustOut.String()) != storedRecord(t, dir, "default").Tok.AccessToken {
		t.Errorf("the Rust CLI after Go's lock: %v %q", err, rustOut.String())
	}
	if ok, _ := lock.Unlock(ctx(t)); ok {
		t.Error("a lock released twice")
	}
}

// errorCode reports whether err is a termauth *Error with code.
func errorCode(err error, code string) bool {
	var te *Error
	return errors.As(err, &te) && te.Code == code
}
