package couponfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/qrpng"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/risk"
	"github.com/minifn/minifn/shared/session"
)

// CouponClaimHandler serves the coupon-claim function: POST /coupons/claim
// {"campaign_id"} → 201 {"coupon"} (user token; Idempotency-Key honoured).
// With rk (MINIFN_RISK_RANK_MAX set), a caller WeChat rates too risky is
// refused 403 risk_refused before the claim writes anything; nil: no check.
func CouponClaimHandler(cs *coupon.Service, rk *risk.Service, sess *session.Sessions) http.Handler {
	rt := httpapi.NewRouter()
	rt.Handle("POST /coupons/claim", sess.Require(claimCoupon(cs, rk)))
	return rt
}

type couponBody struct {
	Coupon coupon.Coupon `json:"coupon"`
}

// claimCoupon reads the request, asks risk control about the caller, then
// claims. The risk check sits here, not in coupon.Service: it needs the
// caller's IP, which only the HTTP request knows, and the claim stays one
// conditional write that knows nothing of WeChat.
func claimCoupon(cs *coupon.Service, rk *risk.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return session.ErrUnauthenticated
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var in struct {
			CampaignID string `json:"campaign_id"`
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		if in.CampaignID == "" {
			return apperr.Invalidf("field \"campaign_id\" is required")
		}
		if err := rk.Allow(r.Context(), openid, ratelimit.ClientIP(r)); err != nil {
			return err
		}
		c, replayed, err := cs.Claim(r.Context(), openid, in.CampaignID, key)
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, replayed)
		httpapi.JSON(w, http.StatusCreated, couponBody{c})
		return nil
	}
}

// CouponsHandler serves the coupons function (user token):
//
//	GET /coupons[?status=usable|locked|used|expired]  the caller's coupons, newest first
//	GET /coupons/{id}/qr[?size=N]                      PNG QR code of the coupon's redemption code
func CouponsHandler(cs *coupon.Service, sess *session.Sessions) http.Handler {
	rt := httpapi.NewRouter()
	rt.Handle("GET /coupons", sess.Require(listCoupons(cs)))
	rt.Handle("GET /coupons/{id}/qr", sess.Require(couponQR(cs)))
	return rt
}

func listCoupons(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return session.ErrUnauthenticated
		}
		status, err := coupon.ParseStatus(r.URL.Query().Get("status"))
		if err != nil {
			return err
		}
		list, err := cs.Coupons(r.Context(), openid, status)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Coupons []coupon.Coupon `json:"coupons"`
		}{list})
		return nil
	}
}

func couponQR(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return session.ErrUnauthenticated
		}
		size, err := httpapi.IntParam(r, "size", qrpng.DefaultSize, 64, qrpng.MaxSize)
		if err != nil {
			return err
		}
		c, err := cs.Coupon(r.Context(), openid, r.PathValue("id"))
		if err != nil {
			return err
		}
		png, err := qrpng.Encode(c.Code, size)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", qrpng.ContentType)
		w.Header().Set("Cache-Control", "private, max-age=300")
		w.WriteHeader(http.StatusOK)
		w.Write(png)
		return nil
	}
}

// CouponRedeemHandler serves the coupon-redeem function:
//
//	POST   /coupons/redeem {"code"}  staff (user token with the staff role) or admin → 200 {"coupon"}
//	PUT    /staff/{openid}           admin: grant the staff role → 200 {"staff"}
//	DELETE /staff/{openid}           admin: revoke it → 204
//	GET    /staff[?after=&limit=]    admin: the staff → 200 {"staff":[…],"next"?}
func CouponRedeemHandler(cs *coupon.Service, sess *session.Sessions) http.Handler {
	rt := httpapi.NewRouter()
	rt.Handle("POST /coupons/redeem", sess.RequireAny(redeemCoupon(cs)))
	rt.Handle("PUT /staff/{openid}", sess.RequireAdmin(grantStaff(cs)))
	rt.Handle("DELETE /staff/{openid}", sess.RequireAdmin(revokeStaff(cs)))
	rt.Handle("GET /staff", sess.RequireAdmin(listStaff(cs)))
	return rt
}

func redeemCoupon(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		by := coupon.Redeemer{Admin: session.IsAdmin(r.Context())}
		by.OpenID, _ = session.UserFrom(r.Context())
		if !by.Admin && by.OpenID == "" {
			return session.ErrUnauthenticated
		}
		var in struct {
			Code string `json:"code"`
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		c, err := cs.Redeem(r.Context(), by, in.Code)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, couponBody{c})
		return nil
	}
}
