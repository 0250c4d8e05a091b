// Package couponfn holds the coupon functions: campaigns (list and manage),
// coupon-claim (the flash sale), coupons (mine, and their QR codes) and
// coupon-redeem (at the counter, and the staff role), with their HTTP
// handlers.
package couponfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/platform"
)

// couponService builds the coupon service of one function. Each function
// has its own (its own campaign cache): see docs/coupons.md. The staff
// role, which redemptions check, is package outlet's.
func couponService(a *app.App) *coupon.Service {
	return coupon.New(a.Store, coupon.Options{Now: a.Now, Staff: outletService(a)})
}

func outletService(a *app.App) *outlet.Service {
	return outlet.New(a.Store, outlet.Options{Now: a.Now})
}

// Campaigns lists campaigns (anyone) and manages them (admin).
var Campaigns = app.Spec{
	Name: "campaigns",
	Routes: []string{"GET /campaigns", "GET /campaigns/{id}", "POST /campaigns",
		"POST /campaigns/{id}/pause", "POST /campaigns/{id}/resume", "POST /campaigns/{id}/end"},
	Build: func(a *app.App) (platform.Function, error) {
		cs, admin := couponService(a), a.Sessions.RequireAdmin
		routes := map[string]http.Handler{
			"GET /campaigns":      listCampaignsOrAll(cs, a.Sessions), // ?all=1: admin
			"GET /campaigns/{id}": getCampaign(cs),
			"POST /campaigns":     admin(createCampaign(cs)),
		}
		for _, act := range []coupon.Action{coupon.Pause, coupon.Resume, coupon.End} {
			routes["POST /campaigns/{id}/"+string(act)] = admin(campaignAction(cs, act))
		}
		return platform.Function{Handler: httpapi.RouterOf(routes)}, nil
	},
}

// CouponClaim is the flash-sale endpoint. Its request passes the router,
// Sessions.Require (the token verified once: 401 without a valid one, at no
// store cost; the openid put in the context), the claim rate limit (by that
// openid and the source IP: 429) and claimCoupon.
var CouponClaim = app.Spec{
	Name:   "coupon-claim",
	Routes: []string{"POST /coupons/claim"},
	Build: func(a *app.App) (platform.Function, error) {
		rk, err := a.Risk() // nil unless MINIFN_RISK_RANK_MAX is set
		if err != nil {
			return platform.Function{}, err
		}
		limit := a.RateLimit(app.RateActionClaim)
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /coupons/claim": a.Sessions.Require(limit(claimCoupon(couponService(a), rk))),
		})}, nil
	},
}

// Coupons shows the caller's coupons and their QR codes.
var Coupons = app.Spec{
	Name:   "coupons",
	Routes: []string{"GET /coupons", "GET /coupons/{id}/qr"},
	Build: func(a *app.App) (platform.Function, error) {
		cs, user := couponService(a), a.Sessions.Require
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /coupons":         user(listCoupons(cs)), // ?status=usable|locked|used|expired
			"GET /coupons/{id}/qr": user(couponQR(cs)),    // ?size=N
		})}, nil
	},
}

// CouponRedeem redeems coupons at a store counter (staff or admin) and
// manages the staff role (admin).
var CouponRedeem = app.Spec{
	Name:   "coupon-redeem",
	Routes: []string{"POST /coupons/redeem", "PUT /staff/{openid}", "DELETE /staff/{openid}", "GET /staff"},
	Build: func(a *app.App) (platform.Function, error) {
		cs, ol, admin := couponService(a), outletService(a), a.Sessions.RequireAdmin
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /coupons/redeem":   a.Sessions.RequireAny(redeemCoupon(cs)),
			"PUT /staff/{openid}":    admin(grantStaff(ol)),
			"DELETE /staff/{openid}": admin(revokeStaff(ol)),
			"GET /staff":             admin(listStaff(ol)), // ?store_id=&after=&limit=
		})}, nil
	},
}
