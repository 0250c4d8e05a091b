// Package wechat implements minifn's client of the WeChat server APIs
// (api.weixin.qq.com): login (code2Session), the access token, and the
// authenticated calls built on it.
//
// # Access token
//
// The token comes from getStableAccessToken (POST /cgi-bin/stable_token,
// never with force_refresh) and is cached fleet-wide in the store, so that
// cold function instances share one token instead of each fetching its own:
//
//	wechat#token / {appid}        Value {"access_token","expires_at"} (a minute before WeChat's
//	                              expiry); the item outlives it by an hour (see cachedToken)
//	wechat#token-lease / {appid}  the refresher's lease; Value its random id; ExpiresAt Timeout+2s ahead
//	wechat#trade-managed / {appid} is_trade_managed's answer and when it was asked (shipping.go)
//
// One instance refreshes at a time: it takes the lease with a put-if-absent;
// the others wait briefly and re-read the cache. When WeChat answers 40001 or
// 42001 (token invalid or expired), the client drops the cached token only if
// it is still the one that failed (a write conditional on its version, so a
// token another instance just stored survives), then retries once. A short
// in-process memo (at most a minute) spares a store read per call.
//
// # Errors
//
// Every error is an *apperr.Error: see the errcode table in errors.go. The
// cause of a mapped errcode is an *APIError. Errors and their causes never
// hold the app secret, a session_key or an access token.
//
// # Adding an API
//
// An authenticated API is one file: a method that calls postJSON (JSON
// answers) or postForBytes (image answers, told from errors by Content-Type).
package wechat

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/store"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// DefaultTimeout bounds each HTTP call to WeChat.
const DefaultTimeout = 5 * time.Second

// Config holds what a Client needs. AppID, Secret and Store are required for
// the calls that use them; the rest have defaults.
type Config struct {
	AppID, Secret string
	BaseURL       string           // default DefaultBaseURL
	HTTP          *http.Client     // default: a client on http.DefaultTransport
	Store         store.Store      // the fleet-wide token cache
	Now           func() time.Time // default time.Now; must agree with the store's clock
	Timeout       time.Duration    // per HTTP call; default DefaultTimeout
}

// Client calls WeChat. It is safe for concurrent use.
type Client struct {
	appID, secret, base string
	http                *http.Client
	store               store.Store
	now                 func() time.Time
	timeout             time.Duration

	mu   sync.Mutex
	memo memo
}

// New returns a client. It makes no network call.
func New(cfg Config) *Client {
	c := &Client{
		appID: cfg.AppID, secret: cfg.Secret,
		base: strings.TrimRight(cfg.BaseURL, "/"),
		http: cfg.HTTP, store: cfg.Store, now: cfg.Now, timeout: cfg.Timeout,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	return c
}

// AppID returns the app the client acts for.
func (c *Client) AppID() string { return c.appID }

// Session is what code2Session answers for a user.
type Session struct {
	OpenID     string
	UnionID    string // empty unless the app is bound to an Open Platform account
	SessionKey string // secret: never send it to the client, never log it
}

// String hides the session key from fmt's %v and %+v.
func (s Session) String() string {
	return "wechat.Session{OpenID:" + s.OpenID + " UnionID:" + s.UnionID + " SessionKey:[hidden]}"
}

// GoString hides the session key from fmt's %#v.
func (s Session) GoString() string { return s.String() }

// LogValue hides the session key from slog, and the openid behind its hash
// (the access lines' "user").
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", accesslog.HashOpenID(s.OpenID)))
}
