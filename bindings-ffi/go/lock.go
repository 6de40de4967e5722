package termauth

// For programs that talk to the server themselves or must not race termauth: the server's
// metadata as termauth knows it, and the credential's cross-process lock.

import (
	"context"
	"encoding/json"
)

// Metadata returns the server's metadata (RFC 8414 / OpenID Discovery): the configured
// one, else the cached one (a day), else discovered now (and cached).
func (c *Client) Metadata(ctx context.Context) (json.RawMessage, error) {
	r, err := call[struct{ Metadata json.RawMessage }](ctx, c, map[string]any{"op": "discover"})
	if err != nil {
		return nil, err
	}
	return r.Metadata, nil
}

// CredentialLock is the credential's lock — the one renewals, logins and logouts of every
// termauth language take — held until Unlock.
type CredentialLock struct {
	c     *Client
	nonce string
}

// Lock takes the credential's lock, waiting for another holder up to Config.LockWait (a
// stale lock of a dead process is broken). Release it with Unlock.
func (c *Client) Lock(ctx context.Context) (*CredentialLock, error) {
	r, err := call[struct{ Nonce string }](ctx, c, map[string]any{"op": "lock"})
	if err != nil {
		return nil, err
	}
	return &CredentialLock{c: c, nonce: r.Nonce}, nil
}

// Unlock releases the lock if it is still this holder's; whether it was.
func (l *CredentialLock) Unlock(ctx context.Context) (bool, error) {
	r, err := call[struct{ Released bool }](ctx, l.c, map[string]any{"op": "unlock", "nonce": l.nonce})
	if err != nil {
		return false, err
	}
	return r.Released, nil
}
