// Package ratelimit implements request limits that hold across every
// instance of a function, because the counters live in the store.
//
// A Limiter counts the requests of one action ("login", "claim", "order";
// "qrcode" is the scene package's share-code limit)
// per openid and per source IP in fixed windows: the counter of a window is
// one store item, bumped with store.Add(key, 1).AtMost(limit) that expires
// when the window ends. Both counters of a request are bumped in one atomic
// Write, so a refused request counts against neither, and the op whose bound
// failed says which limit was hit and when its window ends (Retry-After).
//
// # Keys
//
//	PK rl#<action>#openid#<openid>   SK <window start, Unix seconds>
//	PK rl#<action>#ip#<address>      SK <window start, Unix seconds>
//
// One PK per subject, so that no single partition takes every request. This
// package owns the "rl#" prefix: other packages count through a Limiter.
// An IPv6 source counts by its /64, which one subscriber usually holds whole.
//
// # Caveats
//
//   - Fixed windows let a caller send up to twice the limit across a window
//     boundary. That is the price of one conditional write per request; the
//     limits are against storms and scripts, not exact quotas.
//   - Windows are aligned on Unix time (a 1m window starts at :00), and the
//     store's expiry has one-second resolution, so windows are whole seconds.
//   - When the store is unavailable the request fails with the store's 503:
//     the handler behind would fail on it too.
package ratelimit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// ErrLimited is returned (with RetryAfter set) when a request is over a limit.
var ErrLimited = apperr.New(apperr.RateLimited, "rate_limited", "too many requests; try again later")

// Limiter limits one action. A nil *Limiter, or one whose rules are off,
// allows everything.
type Limiter struct {
	st     store.Store
	action string
	rules  Rules
	now    func() time.Time
}

// Options are a Limiter's settings.
type Options struct {
	Action string           // a short name used in store keys ("login", "claim")
	Rules  Rules            // zero: off
	Now    func() time.Time // nil: time.Now
}

// New returns the Limiter of o.Action over st.
func New(st store.Store, o Options) *Limiter {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{st: st, action: o.Action, rules: o.Rules, now: o.Now}
}

// Rules returns the limiter's rules.
func (l *Limiter) Rules() Rules {
	if l == nil {
		return Rules{}
	}
	return l.rules
}

// Allow counts one request from source ip and caller openid; either may be
// "" (not known), and is then not counted. It returns nil, an error matching
// ErrLimited with RetryAfter, or the store's error.
func (l *Limiter) Allow(ctx context.Context, ip, openid string) error {
	if l == nil {
		return nil
	}
	now := l.now()
	var ops []store.Op
	var ends []time.Time
	add := func(subject, id string, r Rule) {
		if id == "" || r.Off() {
			return
		}
		secs := int64(r.Window / time.Second)
		start := now.Unix() - mod(now.Unix(), secs)
		end := time.Unix(start+secs, 0)
		key := store.Key{PK: "rl#" + l.action + "#" + subject + "#" + id, SK: strconv.FormatInt(start, 10)}
		ops = append(ops, store.Add(key, 1).AtMost(r.Limit).ExpiringAt(end))
		ends = append(ends, end)
	}
	add("ip", ip, l.rules.IP)
	add("openid", openid, l.rules.OpenID)
	if len(ops) == 0 {
		return nil
	}
	err := l.st.Write(ctx, ops...)
	if i := store.FailedOp(err); i >= 0 && i < len(ends) {
		return ErrLimited.WithRetryAfter(max(ends[i].Sub(now), time.Second))
	}
	return err
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// SourceIP returns the address a request came from, as counted: the host of
// r.RemoteAddr, with an IPv6 address cut to its /64. It reads no header:
// shared/platform sets RemoteAddr to the client the cloud names (the event's
// source IP; in an SCF web function, the address Tencent's front end adds),
// and elsewhere it is the TCP peer, since any client can write
// X-Forwarded-For.
func SourceIP(r *http.Request) string {
	addr, ok := clientAddr(r)
	if !ok {
		return ClientIP(r)
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// ClientIP returns the caller's whole address, as SourceIP reads it but
// without cutting IPv6 to its /64: what WeChat's security APIs want as
// client_ip. A RemoteAddr that is not an address is returned as it is.
func ClientIP(r *http.Request) string {
	if addr, ok := clientAddr(r); ok {
		return addr.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func clientAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}

type pendingKey struct{}

// pending is what Middleware leaves in the context when it could not tell
// the caller's openid: the handler counts it once it knows (CountOpenID).
type pending struct {
	l  *Limiter
	ip string
}

// Middleware limits requests to h before h runs, by source IP and by the
// caller's openid. On routes that need a session, who returns the openid
// the session middleware before it put in the context; a request without
// one ("") is passed to h uncounted (a session middleware refuses it before
// it gets here: counting it would cost a store write). On login, who is nil: the request counts by IP at once,
// and by openid when the handler, having learned it, calls CountOpenID.
// A refused request gets fail(w, r, err), with err matching ErrLimited.
func (l *Limiter) Middleware(who func(*http.Request) string, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if l == nil || l.rules.Off() {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip, openid := SourceIP(r), ""
			if who != nil {
				if openid = who(r); openid == "" {
					h.ServeHTTP(w, r)
					return
				}
			}
			if err := l.Allow(r.Context(), ip, openid); err != nil {
				fail(w, r, err)
				return
			}
			if who == nil && !l.rules.OpenID.Off() {
				r = r.WithContext(context.WithValue(r.Context(), pendingKey{}, &pending{l: l, ip: ip}))
			}
			h.ServeHTTP(w, r)
		})
	}
}

// CountOpenID counts the request against the openid limit of the Middleware
// that let it through without knowing its caller (login learns the openid
// only from WeChat). Without such a Middleware it does nothing.
func CountOpenID(ctx context.Context, openid string) error {
	p, ok := ctx.Value(pendingKey{}).(*pending)
	if !ok || openid == "" {
		return nil
	}
	l := *p.l
	l.rules.IP = Rule{} // the IP was counted on the way in
	return l.Allow(ctx, "", openid)
}

// IsLimited reports whether err is a rate-limit refusal.
func IsLimited(err error) bool { return errors.Is(err, ErrLimited) }
