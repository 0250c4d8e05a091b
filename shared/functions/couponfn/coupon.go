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

type couponBody struct {
	Coupon coupon.Coupon `json:"coupon"`
}

// claimCoupon serves POST /coupons/claim {"campaign_id"} → 201 {"coupon"}
// (user token; Idempotency-Key honoured), behind Sessions.Require and the
// claim rate limit (spec.go). With rk (MINIFN_RISK_RANK_MAX set), a caller
// WeChat rates too risky is refused 403 risk_refused before the claim writes
// anything; nil: no check.
//
// It reads the request, asks risk control about the caller, then claims.
// The risk check sits here, not in coupon.Service: it needs the caller's IP, which only the HTTP request knows, and the claim stays one
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

// redeemCoupon serves POST /coupons/redeem {"code","store_id"?} (staff or
// admin): the coupon, used, recording the staff member's store, or the
// one the admin names in store_id (404 store_not_found when none has it).
func redeemCoupon(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		by := coupon.Redeemer{Admin: session.IsAdmin(r.Context())}
		by.OpenID, _ = session.UserFrom(r.Context())
		if !by.Admin && by.OpenID == "" {
			return session.ErrUnauthenticated
		}
		var in struct {
			Code    string `json:"code"`
			StoreID string `json:"store_id"` // the admin's: the store the redemption is for
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		if by.Admin {
			by.StoreID = in.StoreID
		}
		c, err := cs.Redeem(r.Context(), by, in.Code)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, couponBody{c})
		return nil
	}
}
