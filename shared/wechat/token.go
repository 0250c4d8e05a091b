package wechat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/minifn/minifn/shared/store"
)

const (
	tokenPK = "wechat#token"
	leasePK = "wechat#token-lease"

	// tokenMargin is how long before WeChat's expiry the cached token is
	// dropped, so that no call goes out with a token about to expire.
	tokenMargin = time.Minute
	// memoTTL bounds the in-process memo: another instance's invalidation
	// reaches us within it at the latest (or at once, through a 40001 retry).
	memoTTL = time.Minute
	// storeGrace keeps the cache item in the store this long after its token
	// expired (see cachedToken).
	storeGrace = time.Hour
	// leaseSlack is added to the HTTP timeout for the lease's lifetime, so a
	// crashed refresher blocks the others only that long.
	leaseSlack = 2 * time.Second
)

// tokenRef is a cached token and the store version it was read at.
type tokenRef struct {
	token     string
	version   int64
	expiresAt time.Time
}

// memo is the in-process copy of the shared token.
type memo struct {
	ref   tokenRef
	until time.Time
}

// cachedToken is the Value of the cache item. The token's expiry lives here,
// not in the item's ExpiresAt, and a rejected token is overwritten with an
// empty one rather than deleted: the store restarts Version at 1 when an item
// is recreated, so with deletes (or store expiry) a stale "drop version 1"
// could remove a newer token that also sits at version 1. Kept alive, the item's
// Version only grows. The item itself expires storeGrace after the token, far
// beyond any instance's memo.
type cachedToken struct {
	AccessToken string    `json:"access_token"` // empty: dropped
	ExpiresAt   time.Time `json:"expires_at"`   // a minute before WeChat's expiry
}

// AccessToken returns a valid access token: from the fleet-wide cache in the
// store, or fetched from stable_token by the one instance holding the
// refresh lease. Returns ErrNotConfigured, store errors (ErrUnavailable of the
// store: 503), or WeChat's errors (ErrUnavailable when the lease holder does
// not finish in time).
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	ref, err := c.token(ctx)
	return ref.token, err
}

func (c *Client) token(ctx context.Context) (tokenRef, error) {
	if c.appID == "" || c.secret == "" || c.store == nil {
		return tokenRef{}, ErrNotConfigured.WithMessage("the WeChat appid, secret or store is not set")
	}
	if ref, ok := c.memoized(); ok {
		return ref, nil
	}
	wait, start := 10*time.Millisecond, time.Now()
	for {
		ref, found, err := c.readToken(ctx)
		if err != nil || found {
			return ref, err
		}
		leaseID, won, err := c.takeLease(ctx)
		if err != nil {
			return tokenRef{}, err
		}
		if won {
			return c.refresh(ctx, leaseID)
		}
		// Another instance is refreshing: wait a little and re-read. Real
		// time, not c.now: the store's clock may be a test's frozen one.
		if time.Since(start) > c.timeout+leaseSlack {
			return tokenRef{}, ErrUnavailable.WithMessage("timed out waiting for another instance to refresh the WeChat access token")
		}
		if err := sleep(ctx, wait); err != nil {
			return tokenRef{}, ErrUnavailable.Wrap(err)
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

func (c *Client) tokenKey() store.Key { return store.Key{PK: tokenPK, SK: c.appID} }
func (c *Client) leaseKey() store.Key { return store.Key{PK: leasePK, SK: c.appID} }

// readToken reads the cached token; found is false when there is none.
func (c *Client) readToken(ctx context.Context) (ref tokenRef, found bool, err error) {
	it, err := c.store.Get(ctx, c.tokenKey())
	if errors.Is(err, store.ErrNotFound) {
		return tokenRef{}, false, nil
	}
	if err != nil {
		return tokenRef{}, false, err
	}
	var v cachedToken
	if json.Unmarshal(it.Value, &v) != nil || v.AccessToken == "" || !c.now().Before(v.ExpiresAt) {
		return tokenRef{}, false, nil // dropped, expired or unreadable: refresh over it
	}
	ref = tokenRef{token: v.AccessToken, version: it.Version, expiresAt: v.ExpiresAt}
	c.remember(ref)
	return ref, true, nil
}

// takeLease tries to become the refresher, with a put-if-absent that expires
// on its own should this instance die holding it.
func (c *Client) takeLease(ctx context.Context) (id string, won bool, err error) {
	b := make([]byte, 16)
	rand.Read(b)
	id = hex.EncodeToString(b)
	err = c.store.Write(ctx, store.Put(store.Item{Key: c.leaseKey(), Value: []byte(id),
		ExpiresAt: c.now().Add(c.timeout + leaseSlack)}).IfAbsent())
	if errors.Is(err, store.ErrConditionFailed) {
		return "", false, nil
	}
	return id, err == nil, err
}

// releaseLease deletes the lease if it is still ours.
func (c *Client) releaseLease(ctx context.Context, id string) {
	it, err := c.store.Get(ctx, c.leaseKey())
	if err != nil || string(it.Value) != id {
		return
	}
	c.store.Write(ctx, store.Delete(c.leaseKey()).IfVersion(it.Version)) // a failure: it expires anyway
}

// refresh fetches a token from WeChat and caches it; the caller holds the lease.
func (c *Client) refresh(ctx context.Context, leaseID string) (tokenRef, error) {
	defer c.releaseLease(context.WithoutCancel(ctx), leaseID)
	// Another refresher may have finished between our read and our lease.
	if ref, found, err := c.readToken(ctx); err != nil || found {
		return ref, err
	}
	tok, expiresIn, err := c.fetchStableToken(ctx)
	if err != nil {
		return tokenRef{}, err
	}
	expiresAt := c.now().Add(expiresIn - min(tokenMargin, expiresIn/2))
	if err := c.putToken(ctx, cachedToken{AccessToken: tok, ExpiresAt: expiresAt}, 0); err != nil {
		return tokenRef{}, err
	}
	// Read it back for its version, which a later drop is conditional on.
	ref, found, err := c.readToken(ctx)
	if err == nil && !found {
		err = fmt.Errorf("wechat: the access token just stored is gone")
	}
	return ref, err
}

// fetchStableToken calls getStableAccessToken in normal mode. force_refresh
// is never sent: it would invalidate the token the whole fleet is using.
func (c *Client) fetchStableToken(ctx context.Context) (string, time.Duration, error) {
	const path = "/cgi-bin/stable_token"
	body, _ := json.Marshal(map[string]string{
		"grant_type": "client_credential", "appid": c.appID, "secret": c.secret})
	_, data, err := c.do(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return "", 0, err
	}
	var ans struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.decodeJSON(path, data, &ans); err != nil {
		return "", 0, err
	}
	if ans.AccessToken == "" || ans.ExpiresIn <= 0 {
		return "", 0, ErrWeChat.WithMessage("WeChat answered stable_token without a token")
	}
	return ans.AccessToken, time.Duration(ans.ExpiresIn) * time.Second, nil
}

// dropToken removes the cached token after WeChat rejected it, but only if
// the store still holds that very version: a token another instance has
// stored since must survive.
func (c *Client) dropToken(ctx context.Context, failed tokenRef) {
	c.mu.Lock()
	if c.memo.ref.token == failed.token {
		c.memo = memo{}
	}
	c.mu.Unlock()
	// A condition failure means someone replaced it already: nothing to do.
	c.putToken(ctx, cachedToken{ExpiresAt: failed.expiresAt}, failed.version)
}

// putToken writes the cache item, only over version ifVersion when it is not 0.
func (c *Client) putToken(ctx context.Context, v cachedToken, ifVersion int64) error {
	value, _ := json.Marshal(v)
	op := store.Put(store.Item{Key: c.tokenKey(), Value: value, ExpiresAt: v.ExpiresAt.Add(storeGrace)})
	if ifVersion != 0 {
		op = op.IfVersion(ifVersion)
	}
	return c.store.Write(ctx, op)
}

func (c *Client) remember(ref tokenRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	until := c.now().Add(memoTTL)
	if ref.expiresAt.Before(until) && !ref.expiresAt.IsZero() {
		until = ref.expiresAt
	}
	c.memo = memo{ref: ref, until: until}
}

func (c *Client) memoized() (tokenRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.memo.ref.token == "" || !c.now().Before(c.memo.until) {
		return tokenRef{}, false
	}
	return c.memo.ref, true
}

func (c *Client) memoToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.memo.ref.token
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
