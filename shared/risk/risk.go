// Package risk refuses marketing requests from users WeChat rates as risky:
// a coupon claim or a points scan asks getUserRiskRank (scene 1, marketing
// cheat) with the caller's openid and IP, and a rank above Max is refused
// with 403 risk_refused before anything is written.
//
// # Cache
//
// A user's rank is kept in the store for TTL (DefaultTTL, 5 minutes), so
// that every instance shares it and a burst of claims costs WeChat one call:
//
//	risk#{openid} / rank   Value {"rank":N}; ExpiresAt TTL after WeChat answered
//
// Only answers are cached, never failures.
//
// # When WeChat cannot answer
//
// WeChat may be unreachable or slow (each call is bounded by Timeout), or
// refuse the call: 61010 for a user who has not opened the Mini-Program in
// the last two hours (a long-lived session token outlives that), 48001 when
// risk control is not enabled in the WeChat console. By default the request
// is allowed and the failure logged at WARN (fail open): a flash sale must
// not stop because a WeChat security API did, and the per-user claim limits
// and rate limits still hold. FailClosed refuses such requests instead with
// 502 risk_unavailable, for shops that prefer losing a sale to losing stock
// to scripts (MINIFN_RISK_FAIL=closed).
//
// Rank guidance (https://developers.weixin.qq.com/miniprogram/dev/framework/operation.html):
// 0 allow; 1–2 a simple check; 3 mitigate; 4 block. MINIFN_RISK_RANK_MAX is
// the highest rank allowed.
package risk

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// DefaultTTL is how long a user's rank is kept.
const DefaultTTL = 5 * time.Minute

// DefaultTimeout bounds one getUserRiskRank call: a claim waits for it.
const DefaultTimeout = 2 * time.Second

// MaxRank is the highest rank WeChat gives.
const MaxRank = 4

var (
	// ErrRefused is returned when the caller's rank is above the maximum.
	ErrRefused = apperr.New(apperr.Forbidden, "risk_refused",
		"WeChat's risk control rates this account too risky for this offer")

	// ErrUnchecked is returned, with FailClosed only, when WeChat could not
	// rate the caller.
	ErrUnchecked = apperr.New(apperr.Upstream, "risk_unavailable",
		"the risk check is unavailable; try again later")
)

// Ranker is the WeChat call the service needs (*wechat.Client).
type Ranker interface {
	GetUserRiskRank(ctx context.Context, req wechat.RiskRankRequest) (wechat.RiskRank, error)
}

// Service checks callers. A nil *Service allows everyone without a call
// (MINIFN_RISK_RANK_MAX unset).
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service { return &Service{st: st, o: o} }

// Options are the client and settings of a Service.
type Options struct {
	WeChat     Ranker
	Now        func() time.Time // nil: time.Now
	Max        int              // the highest rank allowed, 0 to MaxRank
	FailClosed bool             // refuse when WeChat cannot answer (default: allow)
	TTL        time.Duration    // DefaultTTL when 0
	Timeout    time.Duration    // DefaultTimeout when 0
}

// Key is where a user's rank is cached.
func Key(openid string) store.Key { return store.Key{PK: "risk#" + openid, SK: "rank"} }

type cached struct {
	Rank int `json:"rank"`
}

// Allow returns nil when openid, calling from clientIP (the full address),
// may go on. Returns ErrRefused (rank above Max); with FailClosed,
// ErrUnchecked when WeChat could not answer; store errors.
func (s *Service) Allow(ctx context.Context, openid, clientIP string) error {
	if s == nil {
		return nil
	}
	rank, asked, err := s.rank(ctx, openid, clientIP)
	switch {
	case err != nil && !asked:
		return err // our own store: not WeChat's failure
	case err != nil && s.o.FailClosed:
		slog.WarnContext(ctx, "risk: no rank from WeChat; refused (MINIFN_RISK_FAIL=closed)", "err", err)
		return ErrUnchecked.Wrap(err)
	case err != nil:
		slog.WarnContext(ctx, "risk: no rank from WeChat; allowed (MINIFN_RISK_FAIL=open)", "err", err)
		return nil
	case rank > s.o.Max:
		slog.InfoContext(ctx, "risk: refused", "rank", rank, "max", s.o.Max)
		return ErrRefused.WithMessage("WeChat's risk control rates this account %d of 4; this offer takes at most %d", rank, s.o.Max)
	}
	return nil
}

// rank returns the cached rank, or asks WeChat and caches its answer;
// asked tells an error of WeChat's (or of asking it) from the store's.
func (s *Service) rank(ctx context.Context, openid, clientIP string) (rank int, asked bool, err error) {
	k := Key(openid)
	it, err := s.st.Get(ctx, k)
	if err == nil {
		var c cached
		if json.Unmarshal(it.Value, &c) == nil {
			return c.Rank, false, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, false, err
	}
	if clientIP == "" {
		return 0, true, errors.New("risk: the request has no client IP to send")
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout())
	ans, err := s.o.WeChat.GetUserRiskRank(cctx, wechat.RiskRankRequest{
		OpenID: openid, Scene: wechat.RiskSceneMarketing, ClientIP: clientIP,
	})
	cancel()
	if err != nil {
		return 0, true, err
	}
	v, _ := json.Marshal(cached{ans.Rank})
	if err := s.st.Write(ctx, store.Put(store.Item{Key: k, Value: v, ExpiresAt: s.now().Add(s.ttl())})); err != nil {
		// The answer stands; the next request asks again.
		slog.WarnContext(ctx, "risk: caching the rank failed", "err", err)
	}
	return ans.Rank, true, nil
}

func (s *Service) ttl() time.Duration {
	if s.o.TTL > 0 {
		return s.o.TTL
	}
	return DefaultTTL
}

func (s *Service) timeout() time.Duration {
	if s.o.Timeout > 0 {
		return s.o.Timeout
	}
	return DefaultTimeout
}

func (s *Service) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}
