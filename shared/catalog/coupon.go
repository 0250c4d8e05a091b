package catalog

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
var Campaigns = Spec{
	Name: "campaigns",
	Routes: []string{"GET /campaigns", "GET /campaigns/{id}", "POST /campaigns",
		"POST /campaigns/{id}/pause", "POST /campaigns/{id}/resume", "POST /campaigns/{id}/end"},
	Build: func(a *app.App) (platform.Function, error) {
		return platform.Function{Handler: httpapi.Campaigns(couponService(a), a.Sessions)}, nil
	},
}

// CouponClaim is the flash-sale endpoint.
var CouponClaim = Spec{
	Name:   "coupon-claim",
	Routes: []string{"POST /coupons/claim"},
	Build: func(a *app.App) (platform.Function, error) {
		// Limited behind the route match: a stray request costs no store write.
		claim, err := a.RateLimit(app.RateActionClaim, httpapi.CouponClaim(couponService(a), a.Sessions))
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: router(map[string]http.Handler{"POST /coupons/claim": claim})}, nil
	},
}

// Coupons shows the caller's coupons and their QR codes.
var Coupons = Spec{
	Name:   "coupons",
	Routes: []string{"GET /coupons", "GET /coupons/{id}/qr"},
	Build: func(a *app.App) (platform.Function, error) {
		return platform.Function{Handler: httpapi.Coupons(couponService(a), a.Sessions)}, nil
	},
}

// CouponRedeem redeems coupons at a store counter and manages the staff role.
var CouponRedeem = Spec{
	Name:   "coupon-redeem",
	Routes: []string{"POST /coupons/redeem", "PUT /staff/{openid}", "DELETE /staff/{openid}", "GET /staff"},
	Build: func(a *app.App) (platform.Function, error) {
		return platform.Function{Handler: httpapi.CouponRedeem(couponService(a), a.Sessions)}, nil
	},
}
