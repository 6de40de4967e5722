package termauth

import (
	"context"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource over TokenReport for any Go HTTP client
// (oauth2.NewClient(ctx, ts)). It reuses a token in memory until the core would renew it.
func (c *Client) TokenSource(ctx context.Context) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, tokenSource{ctx, c})
}

type tokenSource struct {
	ctx context.Context
	c   *Client
}

func (ts tokenSource) Token() (*oauth2.Token, error) {
	r, err := ts.c.TokenReport(ts.ctx)
	if err != nil {
		return nil, err
	}
	// oauth2 sends `Authorization: <TokenType> <AccessToken>`: the core's header split in
	// two (an API key presented as `Authorization: token …` keeps its scheme).
	name, value := r.Header[0], r.Header[1]
	scheme, token, ok := strings.Cut(value, " ")
	if !strings.EqualFold(name, "Authorization") || !ok {
		return nil, &Error{Kind: "usage", Code: "header_not_authorization", Hint: "fix_configuration",
			Message: "This credential is presented in the " + name + " header, which an oauth2.TokenSource cannot set; use Client.TokenReport and its Header."}
	}
	tok := &oauth2.Token{AccessToken: token, TokenType: scheme}
	if r.RenewAt > 0 {
		// oauth2 asks again 10 s before Expiry: make that the core's renewal time.
		tok.Expiry = time.UnixMilli(r.RenewAt).Add(10 * time.Second)
	}
	return tok, nil
}
