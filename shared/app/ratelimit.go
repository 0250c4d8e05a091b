package app

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/ratelimit"
)

// RateLimits are the MINIFN_RATE_ variables: the limits of login, coupon
// claim and order create, per openid and per source IP, kept in the store
// so that they hold across instances. The form is ratelimit.ParseRules's:
// "openid=10/1m,ip=300/1m", "20/1m" (both), or "off". See docs/ratelimits.md.
//
// The per-IP limits are high because many users share one address behind
// carrier NAT; the per-openid ones are what stop a script.
type RateLimits struct {
	RateLogin ratelimit.Rules `envconfig:"MINIFN_RATE_LOGIN" default:"openid=10/1m,ip=300/1m" desc:"login limits per openid and source IP"`
	RateClaim ratelimit.Rules `envconfig:"MINIFN_RATE_CLAIM" default:"openid=30/1m,ip=1200/1m" desc:"coupon claim limits"`
	RateOrder ratelimit.Rules `envconfig:"MINIFN_RATE_ORDER" default:"openid=20/1m,ip=600/1m" desc:"order create limits"`
}

// Rate-limited actions, as named in store keys (rl#<action>#…).
const (
	RateActionLogin = "login"
	RateActionClaim = "claim"
	RateActionOrder = "order"
)

// LoadRateLimits reads the MINIFN_RATE_ variables. Its error is one line
// naming the variable.
func LoadRateLimits() (RateLimits, error) {
	var rl RateLimits
	if err := envconfig.Process("", &rl); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return RateLimits{}, fmt.Errorf("%s: %v", pe.KeyName, pe.Err) // limits are not secret
		}
		return RateLimits{}, err
	}
	return rl, nil
}

// Rules returns the rules of action (RateActionLogin, …); off for others.
func (rl RateLimits) Rules(action string) ratelimit.Rules {
	switch action {
	case RateActionLogin:
		return rl.RateLogin
	case RateActionClaim:
		return rl.RateClaim
	case RateActionOrder:
		return rl.RateOrder
	}
	return ratelimit.Rules{}
}

// RateLimit wraps h, the handler of a rate-limited action, with the limits
// of MINIFN_RATE_<ACTION>, counted before h runs: login by source IP (and
// by openid once h calls ratelimit.CountOpenID); claim and order, which need
// a session, by source IP and openid for requests with a valid token, while
// requests without one go to h uncounted, to be refused with 401 at no
// store cost. A request over a limit is answered 429 rate_limited with
// Retry-After and never reaches h. The error names a malformed variable.
func (a *App) RateLimit(action string, h http.Handler) (http.Handler, error) {
	rl, err := LoadRateLimits()
	if err != nil {
		return nil, err
	}
	l := ratelimit.New(a.Store, action, rl.Rules(action), a.Now)
	who := a.caller
	if action == RateActionLogin {
		who = nil
	}
	return l.Middleware(who, httpapi.Error)(h), nil
}

// caller is the openid of a request's valid session token, or "".
func (a *App) caller(r *http.Request) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || a.Sessions == nil {
		return ""
	}
	openid, err := a.Sessions.Verify(strings.TrimSpace(tok))
	if err != nil {
		return ""
	}
	return openid
}
