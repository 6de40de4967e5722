package termauth

// The session's JSON, decoded: what the commands return (its outcomes) and what it asks
// the executor to do (its actions).

import (
	"encoding/json"
	"fmt"
)

// UserCode is what the device flow asks the user to do (for Config.ShowUserCode).
type UserCode struct {
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete,omitempty"`
	ExpiresAt               int64  `json:"expires_at"`
}

// StoreChoice says which store holds a credential ("keyring" or "file"), and why.
type StoreChoice struct {
	Store  string `json:"store"`
	Reason string `json:"reason"`
}

// LoginReport is what Login did; Text is the sentence to show.
type LoginReport struct {
	Method    string       `json:"method"`
	Profile   string       `json:"profile"`
	Store     *StoreChoice `json:"store"`
	Scope     string       `json:"scope,omitempty"`
	ExpiresAt int64        `json:"expires_at,omitempty"`
	// Account is who logged in, when an OpenID Connect server said (the ID token's email,
	// preferred_username, name or sub); "" otherwise.
	Account string `json:"account,omitempty"`
	Text    string `json:"text"`
}

// TokenReport is a valid token with where it came from ("env" or "store"), the header
// that presents it, its expiry (Unix ms, 0 when unknown) and the stored record. Text is
// set by Refresh. Printing it with %v shows no secret.
type TokenReport struct {
	Source     string          `json:"source"`
	Token      string          `json:"token"`
	Header     [2]string       `json:"header"`
	ExpiresAt  int64           `json:"expires_at,omitempty"`
	RenewAt    int64           `json:"renew_at,omitempty"` // when to ask again (Unix ms, 0 when nothing expires)
	Credential json.RawMessage `json:"credential,omitempty"`
	Text       string          `json:"text,omitempty"`
}

// String redacts the token, the header and the record.
func (r TokenReport) String() string {
	return fmt.Sprintf("termauth.TokenReport(source=%s expires_at=%d)", r.Source, r.ExpiresAt)
}

// GoString is String for %#v.
func (r TokenReport) GoString() string { return r.String() }

// LogoutReport is what Logout did.
type LogoutReport struct {
	Removed bool   `json:"removed"`
	Revoked bool   `json:"revoked"`
	Note    string `json:"note,omitempty"`
	Text    string `json:"text"`
}

// Status says where Token's token comes from and its state (no secrets).
type Status struct {
	Source         string       `json:"source"` // env, store or none
	EnvVar         string       `json:"env_var"`
	Profile        string       `json:"profile"`
	Issuer         string       `json:"issuer"`
	ClientID       string       `json:"client_id"`
	Store          *StoreChoice `json:"store,omitempty"`
	CredentialKind string       `json:"credential_kind,omitempty"` // oauth or api_key
	Grant          string       `json:"grant,omitempty"`           // device_code, authorization_code, …
	Account        string       `json:"account,omitempty"`         // who is logged in, when the server said
	Scope          string       `json:"scope,omitempty"`
	ExpiresAt      int64        `json:"expires_at,omitempty"`
	Refreshable    bool         `json:"refreshable"`
	Decision       string       `json:"decision,omitempty"` // use, refresh, reacquire, relogin
	Error          *Error       `json:"error,omitempty"`
	// Problem says why no token can be had without logging in (not_logged_in,
	// login_required, or the store problem); nil when Token would return one. A CLI's
	// status exits with ExitCode(status.Problem).
	Problem *Error   `json:"problem,omitempty"`
	Lines   []string `json:"lines"` // the status for a person, as the core words it
}

// Profile is a stored profile.
type Profile struct {
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// action is one of the session's actions, decoded from its JSON (the members it uses).
type action struct {
	Type        string          `json:"type"`
	ID          uint64          `json:"id"`
	Method      string          `json:"method"`
	URL         string          `json:"url"`
	Headers     [][2]string     `json:"headers"`
	Body        string          `json:"body"`
	AtMs        int64           `json:"at_ms"`
	Progress    json.RawMessage `json:"progress"` // a wait's progress line, drawn by progressFrame
	Host        string          `json:"host"`
	Port        int             `json:"port"`
	NotFound    string          `json:"not_found_html"`
	RedirectURI string          `json:"redirect_uri"`
	UntilMs     int64           `json:"until_ms"`
	Source      string          `json:"source"`
	Status      int             `json:"status"`
	HTML        string          `json:"html"`
	Level       string          `json:"level"`
	Text        json.RawMessage `json:"text"` // a notice's sentence, or a prompt
	UserCode
}

// ending is the part of an action that ends a session: `done` with its outcome (decoded
// into the caller's value) or `failed`.
type ending struct {
	Type   string          `json:"type"`
	Result any             `json:"result"`
	Error  json.RawMessage `json:"error"`
}
