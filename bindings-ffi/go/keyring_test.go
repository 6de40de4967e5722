package termauth

// The OS keyring shared by the Rust CLI and this package, on a real Secret Service: a
// credential stored in the keyring by one is used by the other, both ways. The two reach
// it through different D-Bus stacks (the CLI through zbus, the libtermauth this package
// links through libdbus), so this is where they must agree on the items: the same
// attributes, the same collection, the same secret. The same two tests as
// bindings-wasm/npm/test/keyring-interop.test.mjs.
//
// Runs only under bindings-ffi/keyring-test.sh (TERMAUTH_KEYRING_TEST=1: a private D-Bus
// session with gnome-keyring-daemon and a throwaway keyring); skipped elsewhere.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	keyringClientID = "termauth-ci-basic"
	keyringSecret   = "s3cr3t:with/special+chars"
	keyringService  = "termauth:termauth" // termauth:<app>, the app being "termauth"
)

// keyringSides prepares a keyring test: its own config dir (TERMAUTH_CONFIG_DIR, read by
// both sides, as the Node test does), the keyring enabled for both sides, the Rust CLI
// with the client's id and secret, and the Go client with the same configuration.
func keyringSides(t *testing.T) (dir string, rust func(args ...string) (string, error), goClient func() (*Client, *syncBuffer)) {
	t.Helper()
	if os.Getenv("TERMAUTH_KEYRING_TEST") != "1" {
		t.Skip("needs a Secret Service: run bindings-ffi/keyring-test.sh")
	}
	dir = isolated(t)
	unsetenv(t, "TERMAUTH_NO_KEYRING") // isolated turns the keyring off; these tests are about it
	t.Setenv("TERMAUTH_CLIENT_SECRET", keyringSecret)
	cli := rustCLI(t)
	rust = func(args ...string) (string, error) { return cli(append(args, "--client-id", keyringClientID)...) }
	// Both tests use the same keyring item (same app, issuer, client and profile): one that
	// failed before its logout must not leave its item to the other.
	t.Cleanup(func() { _, _ = rust("logout") })
	goClient = func() (*Client, *syncBuffer) {
		stderr := new(syncBuffer) // a fallback to the file store says why here
		return newClient(t, Config{App: "termauth", ClientID: keyringClientID, ClientSecret: keyringSecret, Scope: "api:read", Stderr: stderr}), stderr
	}
	return dir, rust, goClient
}

type keyringPointer struct {
	Store   string `json:"store"`
	Service string `json:"service"`
	Account string `json:"account"`
}

// assertInKeyring: the record is in the keyring, a pointer file without the token, no
// file-store record; and the keyring holds exactly the item the pointer names.
func assertInKeyring(t *testing.T, dir, token string) keyringPointer {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "credentials"))
	var names, pointers []string
	for _, e := range entries {
		names = append(names, e.Name())
		if strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("a file-store record %s next to the keyring pointer (files %v)", e.Name(), names)
		}
		if strings.HasSuffix(e.Name(), ".keyring") {
			pointers = append(pointers, e.Name())
		}
	}
	if len(pointers) != 1 {
		t.Fatalf("expected one keyring pointer in %s, files %v", dir, names)
	}
	b, err := os.ReadFile(filepath.Join(dir, "credentials", pointers[0]))
	var p keyringPointer
	if err != nil || json.Unmarshal(b, &p) != nil {
		t.Fatalf("unreadable keyring pointer %s: %v %q", pointers[0], err, b)
	}
	if token == "" || bytes.Contains(b, []byte(token)) {
		t.Errorf("the pointer holds the secret (or the token is empty): %s", pointers[0])
	}
	if p.Store != "keyring" || p.Service != keyringService || p.Account+".keyring" != pointers[0] {
		t.Errorf("pointer %s: %+v", pointers[0], p)
	}
	assertKeyringItems(t, p.Account, 1)
	return p
}

// assertKeyringItems looks at the Secret Service as a third client (busctl) sees it: the
// items of (keyringService, account), want of them, each with exactly the attributes both
// backends search by (and the service's own xdg: ones), the label they both give, in the
// default collection. Without busctl
// this view is skipped (the cross-language reads still test the items).
func assertKeyringItems(t *testing.T, account string, want int) {
	t.Helper()
	busctl, err := exec.LookPath("busctl")
	if err != nil {
		t.Log("busctl is not installed: the keyring's items are not inspected directly")
		return
	}
	call := func(args ...string) json.RawMessage {
		t.Helper()
		// --user is the session bus of $DBUS_SESSION_BUS_ADDRESS (the private one).
		out, err := exec.Command(busctl, append([]string{"--user", "--json=short"}, args...)...).Output()
		if err != nil {
			t.Fatalf("busctl %v: %v", args, err)
		}
		var v struct{ Data json.RawMessage }
		if json.Unmarshal(bytes.SplitN(out, []byte("\n"), 2)[0], &v) != nil {
			t.Fatalf("busctl %v: %q", args, out)
		}
		return v.Data
	}
	const dest, root = "org.freedesktop.secrets", "/org/freedesktop/secrets"
	var found [2][]string // unlocked, locked
	_ = json.Unmarshal(call("call", dest, root, "org.freedesktop.Secret.Service", "SearchItems", "a{ss}", "2",
		"service", keyringService, "username", account), &found)
	items := append(found[0], found[1]...)
	if len(items) != want {
		t.Fatalf("the keyring holds %d items of %s / %s (locked: %d), expected %d", len(items), keyringService, account, len(found[1]), want)
	}
	var alias []string // a method's out arguments, here one
	_ = json.Unmarshal(call("call", dest, root, "org.freedesktop.Secret.Service", "ReadAlias", "s", "default"), &alias)
	collection := strings.Join(alias, "")
	for _, item := range items {
		var label string
		var attrs map[string]string
		_ = json.Unmarshal(call("get-property", dest, item, "org.freedesktop.Secret.Item", "Label"), &label)
		_ = json.Unmarshal(call("get-property", dest, item, "org.freedesktop.Secret.Item", "Attributes"), &attrs)
		t.Logf("keyring item %s: label %q, attributes %v", item, label, attrs)
		// The service's own attributes: gnome-keyring gives some items xdg:schema
		// org.freedesktop.Secret.Generic (the first made in a new keyring, whichever
		// backend made it; both send only service and username).
		for k := range attrs {
			if strings.HasPrefix(k, "xdg:") {
				delete(attrs, k)
			}
		}
		if wantAttrs := map[string]string{"service": keyringService, "username": account}; !reflect.DeepEqual(attrs, wantAttrs) {
			t.Errorf("item %s: attributes %v, expected %v", item, attrs, wantAttrs)
		}
		// The default label of keyring-core's Secret Service stores (zbus and libdbus alike).
		if wantLabel := "keyring:" + account + "@" + keyringService; label != wantLabel {
			t.Errorf("item %s: label %q, expected %q", item, label, wantLabel)
		}
		if collection == "" || collection == "/" || !strings.HasPrefix(item, collection+"/") {
			t.Errorf("item %s is not in the default collection %q", item, collection)
		}
	}
}

// asJSON shows a report in failure messages (no secrets: reports hold none).
func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Rust logs in to the keyring → Go reads the same token from it, then logs out.
func TestKeyringRustLoginGoReads(t *testing.T) {
	dir, rust, goClient := keyringSides(t)
	if _, err := rust("login", "--client-credentials", "--scope", "api:read"); err != nil {
		t.Fatalf("rust login: %v", err)
	}
	status, err := rust("status", "--json")
	var rs Status
	if err != nil || json.Unmarshal([]byte(status), &rs) != nil || rs.Store == nil || rs.Store.Store != "keyring" {
		t.Fatalf("the Rust CLI did not log in to the OS keyring: %s %v", status, err)
	}
	rustToken, err := rust("token")
	if err != nil || rustToken == "" {
		t.Fatalf("rust token: %q %v", rustToken, err)
	}
	p := assertInKeyring(t, dir, rustToken)

	g, stderr := goClient()
	st, err := g.Status(ctx(t))
	if err != nil || st.Source != "store" || st.Store == nil || st.Store.Store != "keyring" || st.Error != nil {
		t.Fatalf("Go status of the Rust-made keyring entry: %s %v\n%s", asJSON(st), err, stderr)
	}
	if tok, err := g.Token(ctx(t)); err != nil || tok != rustToken {
		t.Fatalf("Go read %q (%v) from the keyring, Rust printed %q\n%s", tok, err, rustToken, stderr)
	}
	lr, err := g.Logout(ctx(t))
	if err != nil || !lr.Removed || !lr.Revoked || lr.Text == "" {
		t.Fatalf("Go logout: %+v %v\n%s", lr, err, stderr)
	}
	assertKeyringItems(t, p.Account, 0)
	if out, err := rust("status"); err == nil || !strings.HasPrefix(err.Error(), "exit status 3:") {
		t.Errorf("Go deleted the Rust-made keyring entry, so Rust's status must exit 3: %v\n%s", err, out)
	}
}

// Go logs in to the keyring → Rust reads the same token from it, then logs out.
func TestKeyringGoLoginRustReads(t *testing.T) {
	dir, rust, goClient := keyringSides(t)
	g, stderr := goClient()
	rep, err := g.Login(ctx(t), ClientCredentials)
	if err != nil || rep.Store == nil || rep.Store.Store != "keyring" {
		t.Fatalf("Go login did not store in the OS keyring: %s %v\n%s", asJSON(rep), err, stderr)
	}
	goToken, err := g.Token(ctx(t))
	if err != nil || goToken == "" {
		t.Fatalf("Go token: %v", err)
	}
	p := assertInKeyring(t, dir, goToken)

	status, err := rust("status", "--json")
	var rs Status
	if err != nil || json.Unmarshal([]byte(status), &rs) != nil || rs.Store == nil || rs.Store.Store != "keyring" {
		t.Fatalf("Rust status of the Go-made keyring entry: %s %v", status, err)
	}
	if rustToken, err := rust("token"); err != nil || rustToken != goToken {
		t.Fatalf("Rust read %q (%v) from the keyring, Go has %q", rustToken, err, goToken)
	}
	if _, err := rust("logout"); err != nil {
		t.Fatalf("rust logout: %v", err)
	}
	assertKeyringItems(t, p.Account, 0)
	if st, err := g.Status(ctx(t)); err != nil || st.Source != "none" {
		t.Errorf("Rust deleted the Go-made keyring entry, so Go's status must show none: %s %v", asJSON(st), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "credentials", "*.keyring")); len(left) != 0 {
		t.Errorf("a keyring pointer left after Rust's logout: %v", left)
	}
}
