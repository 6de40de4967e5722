package termauth

// Ctrl-C: the first cancels the running command (the session is told `cancel`, the
// command fails with ErrCancelled, the process exits 130 through ExitCode); a second exits
// with 130 at once, even while a request is in flight. The test binary plays the CLI.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// playCLI runs a login as a CLI would (signal handling on) and exits with ExitCode.
func playCLI(role string) int {
	iss := os.Getenv("TERMAUTH_GO_TEST_ISSUER")
	cfg := Config{App: "termauth", Issuer: iss, ClientID: "termauth-cli", Scope: "openid",
		ShowUserCode: func(UserCode) { fmt.Println("ready") }}
	method := Device
	if role == "cli-hang" {
		cfg.ClientSecret = "s"
		cfg.Metadata = []byte(fmt.Sprintf(`{"issuer":%q,"token_endpoint":%q}`, iss, iss+"/token"))
		method = ClientCredentials
	}
	c, err := New(cfg)
	if err == nil {
		_, err = c.Login(context.Background(), method)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	return ExitCode(err)
}

func startCLI(t *testing.T, role, iss string) (*exec.Cmd, *bufio.Reader) {
	self, _ := os.Executable()
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "TERMAUTH_GO_TEST_ROLE="+role, "TERMAUTH_GO_TEST_ISSUER="+iss)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, bufio.NewReader(out)
}

func exitCode(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("the process did not exit within %v", within)
		return -1
	}
}

func TestCtrlCCancelsTheLogin(t *testing.T) {
	isolated(t)
	cmd, out := startCLI(t, "cli-device", issuer)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the CLI did not show its code: %q %v", line, err)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, 10*time.Second); code != 130 {
		t.Errorf("exit code after Ctrl-C: %d", code)
	}
	t.Logf("the login ended %v after Ctrl-C", time.Since(start))
}

func TestASecondCtrlCExitsAtOnce(t *testing.T) {
	isolated(t)
	arrived := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // so that the server notices the client going away
		arrived <- struct{}{}
		select {
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	cmd, _ := startCLI(t, "cli-hang", hang.URL)
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the token request never arrived")
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // the request in flight is let finish...
	time.Sleep(300 * time.Millisecond)
	if cmd.ProcessState != nil {
		t.Fatal("the first Ctrl-C abandoned the request in flight")
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // ...unless the user insists
	if code := exitCode(t, cmd, 5*time.Second); code != 130 {
		t.Errorf("exit code after a second Ctrl-C: %d", code)
	}
}
