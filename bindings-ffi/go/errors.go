package termauth

import (
	"encoding/json"
	"errors"
)

// Error is every error this package returns: use errors.As to get it, then switch on
// Kind, Code or Hint; ExitCode(err) is the process exit code a CLI uses.
//
//	var te *termauth.Error
//	if errors.As(err, &te) && te.Hint == termauth.HintReauthenticate { … run login … }
type Error struct {
	// Kind is the family: usage, protocol, oauth, transport, interrupted, storage.
	Kind string `json:"kind"`
	// Code is stable and machine-readable: invalid_grant, not_logged_in, response_not_json, …
	Code string `json:"code"`
	// Message is a sentence a user can act on (the core's words, the same in every language).
	Message string `json:"message"`
	// Hint is what a CLI does about it: reauthenticate, retry_later, fix_configuration, fatal.
	Hint string `json:"hint"`
	// Status is the HTTP status that caused the error, or 0.
	Status int `json:"status,omitempty"`
	// OAuthError is the server's OAuth `error` value (Kind "oauth").
	OAuthError string `json:"error,omitempty"`
	// ErrorDescription is the server's `error_description` (sanitised by the core).
	ErrorDescription string `json:"error_description,omitempty"`
	// ErrorURI is the server's `error_uri`.
	ErrorURI string `json:"error_uri,omitempty"`
	// Excerpt is the sanitised start of a non-JSON response body.
	Excerpt string `json:"excerpt,omitempty"`
	// RetryAfter is the server's Retry-After on a 429 or 503 answer, as sent (delta-seconds
	// or an HTTP date; sanitised): do not try again before it.
	RetryAfter string `json:"retry_after,omitempty"`

	exitCode int // the core's Error::exit_code, when the error came through the library
}

// The hints.
const (
	HintReauthenticate   = "reauthenticate"
	HintRetryLater       = "retry_later"
	HintFixConfiguration = "fix_configuration"
	HintFatal            = "fatal"
)

func (e *Error) Error() string { return e.Message }

// Is matches another *Error by Code (and Kind when the target sets one), so
// errors.Is(err, termauth.ErrNotLoggedIn) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code != "" && t.Code == e.Code && (t.Kind == "" || t.Kind == e.Kind)
}

// Sentinels for errors.Is.
var (
	// ErrNotLoggedIn: nothing is stored for this app, issuer, client and profile.
	ErrNotLoggedIn = &Error{Kind: "storage", Code: "not_logged_in"}
	// ErrLoginRequired: the stored credential cannot be renewed.
	ErrLoginRequired = &Error{Kind: "storage", Code: "login_required"}
	// ErrCancelled: Ctrl-C, or the context was cancelled.
	ErrCancelled = &Error{Kind: "interrupted", Code: "cancelled"}
)

// ExitCode is the process exit code for err, the same as the termauth CLI's in every
// language (the core's Error::exit_code): 0 for nil, 3 log in again, 4 try again later,
// 5 fix the configuration, 6 any other termauth error, 130 cancelled; 1 for an error that
// did not come from termauth.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var te *Error
	if !errors.As(err, &te) {
		return 1
	}
	if te == nil { // a nil *Error in an error (Status.Problem when there is none)
		return 0
	}
	if te.exitCode != 0 {
		return te.exitCode
	}
	// Made in Go (a sentinel, say): ask the core with what it needs to read it.
	e := *te
	if e.Hint == "" {
		e.Hint = HintFatal
	}
	b, _ := json.Marshal(&e)
	return errorFromJSON(b).exitCode
}

// internalError is a bug in this package or a library it was not built with (never a
// user's mistake): it carries what went wrong, for the report.
func internalError(what string) *Error {
	return &Error{Kind: "usage", Code: "internal_error", Hint: HintFatal, Message: "termauth (Go): " + what, exitCode: 6}
}
