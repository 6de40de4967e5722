package termauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11: the store takes nothing on trust (the session's rule, the shared storage
// primitives): a credential file others can read is made private with a warning, one
// others can write or another user owns is refused, and nothing is written into another
// user's directory.
func TestLocalStateIsChecked(t *testing.T) {
	t.Setenv("TERMAUTH_NO_KEYRING", "1")
	var stderr syncBuffer
	newFor := func(dir string) *Client {
		c, err := New(Config{App: "localstate", Issuer: "https://as.example.com", ClientID: "cli", ConfigDir: dir,
			Store: StoreFile, Stderr: &stderr})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dir := t.TempDir()
	c := newFor(dir)
	if _, err := c.Login(context.Background(), Token("pat-0123456789")); err != nil {
		t.Fatal(err)
	}
	records, _ := filepath.Glob(filepath.Join(dir, "credentials", "*.json"))
	if len(records) != 1 {
		t.Fatalf("records: %v", records)
	}
	record := records[0]
	mode := func() os.FileMode { st, _ := os.Stat(record); return st.Mode().Perm() }

	if err := os.Chmod(record, 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err := c.Token(context.Background()); err != nil || tok != "pat-0123456789" {
		t.Fatalf("token: %q %v", tok, err)
	}
	if mode() != 0o600 {
		t.Errorf("not made private: %o", mode())
	}
	if !strings.Contains(stderr.String(), "could be read by other users (mode 0644)") {
		t.Errorf("no warning: %q", stderr.String())
	}

	if err := os.Chmod(record, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := c.Token(context.Background())
	var te *Error
	if !errors.As(err, &te) || te.Code != "credential_writable_by_others" || ExitCode(err) != 5 {
		t.Errorf("writable by others: %v", err)
	}
	if mode() != 0o666 {
		t.Errorf("changed: %o", mode())
	}
	_ = os.Chmod(record, 0o600)

	if os.Geteuid() != 0 {
		t.Log("not root: the other-user cases cannot be set up")
		return
	}
	const nobody = 65534
	if err := os.Chown(record, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); !errors.As(err, &te) || te.Code != "credential_not_owned" {
		t.Errorf("another user's record: %v", err)
	}
	theirs := t.TempDir()
	if err := os.Chown(theirs, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "config")
	if err := os.Symlink(theirs, link); err != nil {
		t.Fatal(err)
	}
	_, err = newFor(link).Login(context.Background(), Token("pat-0123456789"))
	if err == nil || !strings.Contains(err.Error(), "belongs to another user") {
		t.Errorf("another user's directory: %v", err)
	}
	if entries, _ := os.ReadDir(theirs); len(entries) != 0 {
		t.Errorf("written into another user's directory: %v", entries)
	}
}

// Token takes the library's token path (the token alone, no report decoded): the same
// token as TokenReport, and the same errors.
func TestTokenPathMatchesReport(t *testing.T) {
	t.Setenv("TERMAUTH_NO_KEYRING", "1")
	ctx := context.Background()
	c, err := New(Config{App: "tokenpath", Issuer: "https://as.example.com", ClientID: "cli", ConfigDir: t.TempDir(),
		Store: StoreFile, Stderr: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(ctx); ExitCode(err) != 3 || !strings.Contains(err.Error(), "Not logged in") {
		t.Fatalf("before login: %v", err)
	}
	if _, err := c.Login(ctx, Token("pat-0123456789")); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(ctx)
	report, rerr := c.TokenReport(ctx)
	if err != nil || rerr != nil || tok != "pat-0123456789" || report.Token != tok || report.Source != "store" {
		t.Fatalf("token %q %v, report %+v %v", tok, err, report, rerr)
	}
	t.Setenv("TOKENPATH_TOKEN", "from-the-environment")
	if tok, err := c.Token(ctx); err != nil || tok != "from-the-environment" {
		t.Fatalf("<APP>_TOKEN wins: %q %v", tok, err)
	}
}
