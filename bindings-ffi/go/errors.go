package termauth

// Error is every error this package returns from the library or the flows: use errors.As
// to get it, then switch on Kind, Code or Hint.
//
//	var te *termauth.Error
//	if errors.As(err, &te) && te.Hint == termauth.HintReauthenticate { … run login … }
type Error struct {
	// Kind is the family: usage, protocol, oauth, transport, interrupted, storage.
	Kind string `json:"kind"`
	// Code is stable and machine-readable: invalid_grant, not_logged_in, response_not_json, …
	Code string `json:"code"`
	// Message is a sentence a user can act on.
	Message string `json:"message"`
	// Hint is what a CLI does about it: reauthenticate, retry_later, fix_configuration, fatal.
	Hint string `json:"hint"`
	// Status is the HTTP status that caused the error, or 0.
	Status int `json:"status,omitempty"`
	// OAuthError is the server's OAuth `error` value (Kind "oauth").
	OAuthError string `json:"error,omitempty"`
	// ErrorDescription is the server's `error_description`.
	ErrorDescription string `json:"error_description,omitempty"`
	// ErrorURI is the server's `error_uri`.
	ErrorURI string `json:"error_uri,omitempty"`
	// Excerpt is the sanitised start of a non-JSON response body.
	Excerpt string `json:"excerpt,omitempty"`
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
	// ErrCancelled: the context was cancelled during a login.
	ErrCancelled = &Error{Kind: "interrupted", Code: "cancelled"}
)

func usageError(code, message string) *Error {
	return &Error{Kind: "usage", Code: code, Message: message, Hint: HintFixConfiguration}
}
