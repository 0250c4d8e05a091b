package httpapi

import (
	"net/http"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/session"
)

// grantStaff serves PUT /staff/{openid}: idempotent, 200 {"staff":{"openid","granted_at"}}.
func grantStaff(cs *coupon.Service) Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		st, err := cs.GrantStaff(r.Context(), r.PathValue("openid"))
		if err != nil {
			return err
		}
		JSON(w, http.StatusOK, struct {
			Staff coupon.Staff `json:"staff"`
		}{st})
		return nil
	}
}

// revokeStaff serves DELETE /staff/{openid}: idempotent, 204.
func revokeStaff(cs *coupon.Service) Func {
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
