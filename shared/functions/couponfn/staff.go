package couponfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/session"
)

// grantStaff serves PUT /staff/{openid}: idempotent, 200 {"staff":{"openid","granted_at"}}.
func grantStaff(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		st, err := cs.GrantStaff(r.Context(), r.PathValue("openid"))
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Staff coupon.Staff `json:"staff"`
		}{st})
		return nil
	}
}

// revokeStaff serves DELETE /staff/{openid}: idempotent, 204.
func revokeStaff(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		if err := cs.RevokeStaff(r.Context(), r.PathValue("openid")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// listStaff serves GET /staff[?after=&limit=]: the staff roles in OpenID
// order, 200 {"staff":[{"openid","granted_at"}],"next"?}.
func listStaff(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		limit, err := httpapi.IntParam(r, "limit", 100, 1, 100)
		if err != nil {
			return err
		}
		list, next, err := cs.ListStaff(r.Context(), r.URL.Query().Get("after"), limit)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Staff []coupon.Staff `json:"staff"`
			Next  string         `json:"next,omitempty"`
		}{list, next})
		return nil
	}
}
