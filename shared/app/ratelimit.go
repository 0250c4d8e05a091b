package app

import (
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/session"
)

// RateLimits is the section of Config of the MINIFN_RATE_ variables: the
// limits of login, coupon claim and order create, per openid and per source
// IP, kept in the store so that they hold across instances. The form is
// ratelimit.ParseRules's: "openid=10/1m,ip=300/1m", "20/1m" (both), or
// "off". See docs/ratelimits.md.
//
// The per-IP limits are high because many users share one address behind
// carrier NAT; the per-openid ones are what stop a script.
type RateLimits struct {
	RateLogin ratelimit.Rules `envconfig:"MINIFN_RATE_LOGIN" default:"openid=10/1m,ip=300/1m" desc:"login limits per openid and source IP"`
	RateClaim ratelimit.Rules `envconfig:"MINIFN_RATE_CLAIM" default:"openid=30/1m,ip=1200/1m" desc:"coupon claim limits"`
	RateOrder ratelimit.Rules `envconfig:"MINIFN_RATE_ORDER" default:"openid=20/1m,ip=600/1m" desc:"order create limits"`
	// RateBooking: a booking takes seats that others then cannot have; one
	// live booking per user and slot (package booking) does not stop a
	// script booking slot after slot.
	RateBooking ratelimit.Rules `envconfig:"MINIFN_RATE_BOOKING" default:"openid=10/1m,ip=600/1m" desc:"booking limits"`
}

// Rate-limited actions, as named in store keys (rl#<action>#…).
const (
	RateActionLogin   = "login"
	RateActionClaim   = "claim"
	RateActionOrder   = "order"
	RateActionBooking = "booking"
)

// Rules returns the rules of action (RateActionLogin, …); off for others.
func (rl RateLimits) Rules(action string) ratelimit.Rules {
	switch action {
	case RateActionLogin:
		return rl.RateLogin
	case RateActionClaim:
		return rl.RateClaim
	case RateActionOrder:
		return rl.RateOrder
	case RateActionBooking:
		return rl.RateBooking
	}
	return ratelimit.Rules{}
}

// RateLimit is the middleware of a rate-limited action, with the limits of
// MINIFN_RATE_<ACTION>, counted before the handler runs. Login is counted
// by source IP (and by openid once the handler calls ratelimit.CountOpenID).
// Claim, order and booking sit behind Sessions.Require, which has refused a request
// without a valid token (401, no store cost) and put the caller's openid in
// the context: they are counted by source IP and that openid. A request over
// a limit is answered 429 rate_limited with Retry-After and never reaches
// the handler.
func (a *App) RateLimit(action string) func(http.Handler) http.Handler {
	l := ratelimit.New(a.Store, ratelimit.Options{Action: action, Rules: a.Config.RateLimits.Rules(action), Now: a.Now})
	who := func(r *http.Request) string { openid, _ := session.UserFrom(r.Context()); return openid }
	if action == RateActionLogin {
		who = nil
	}
	return l.Middleware(who, httpapi.Error)
}
