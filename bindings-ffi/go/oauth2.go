package termauth

import (
	"context"
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
	tok := &oauth2.Token{AccessToken: r.Token, TokenType: "Bearer"}
	if r.ExpiresAt > 0 {
		// oauth2 asks again 10 s before Expiry; this makes that the moment the core's
		// refresh skew starts (asking earlier only returns the same token).
		skew := ts.c.cfg.RefreshSkew
		if skew == 0 {
			skew = 60 * time.Second // the core's default (SessionConfig.refresh_skew_ms)
		}
		tok.Expiry = time.UnixMilli(r.ExpiresAt).Add(10*time.Second - skew)
	}
	return tok, nil
}
