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
	"github.com/minifn/minifn/shared/platform"
)

// couponService builds the coupon service of one function. Each function
// has its own (its own campaign cache): see docs/coupons.md.
func couponService(a *app.App) *coupon.Service {
	return coupon.New(a.Store, coupon.Options{Now: a.Now})
}

// Campaigns lists campaigns (anyone) and manages them (admin).
var Campaigns = app.Spec{
	Name: "campaigns",
	Routes: []string{"GET /campaigns", "GET /campaigns/{id}", "POST /campaigns",
		"POST /campaigns/{id}/pause", "POST /campaigns/{id}/resume", "POST /campaigns/{id}/end"},
	Build: func(a *app.App) (platform.Function, error) {
		return platform.Function{Handler: CampaignsHandler(couponService(a), a.Sessions)}, nil
	},
}

// CouponClaim is the flash-sale endpoint.
var CouponClaim = app.Spec{
	Name:   "coupon-claim",
	Routes: []string{"POST /coupons/claim"},
	Build: func(a *app.App) (platform.Function, error) {
		rk, err := a.Risk() // nil unless MINIFN_RISK_RANK_MAX is set
		if err != nil {
			return platform.Function{}, err
		}
		// Limited behind the route match: a stray request costs no store write.
		claim, err := a.RateLimit(app.RateActionClaim, CouponClaimHandler(couponService(a), rk, a.Sessions))
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{"POST /coupons/claim": claim})}, nil
	},
}

// Coupons shows the caller's coupons and their QR codes.
var Coupons = app.Spec{
	Name:   "coupons",
	Routes: []string{"GET /coupons", "GET /coupons/{id}/qr"},
	Build: func(a *app.App) (platform.Function, error) {
		return platform.Function{Handler: CouponsHandler(couponService(a), a.Sessions)}, nil
	},
}

// CouponRedeem redeems coupons at a store counter and manages the staff role.
var CouponRedeem = app.Spec{
	Name:   "coupon-redeem",
	Routes: []string{"POST /coupons/redeem", "PUT /staff/{openid}", "DELETE /staff/{openid}", "GET /staff"},
	Build: func(a *app.App) (platform.Function, error) {
		return platform.Function{Handler: CouponRedeemHandler(couponService(a), a.Sessions)}, nil
	},
}
