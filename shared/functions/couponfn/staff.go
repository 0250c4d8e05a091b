package couponfn

import (
	"bytes"
	"io"
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/session"
)

// grantStaff serves PUT /staff/{openid} [{"store_id"}]: idempotent, 200
// {"staff":{"openid","granted_at","store_id"?}}. The body says the whole
// role: no body, or no store_id, makes the member staff of no one store;
// a store_id must name a store (404 store_not_found).
func grantStaff(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		var in struct {
			StoreID string `json:"store_id"`
		}
		b, err := httpapi.ReadBody(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(b))
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
		}
		st, err := ol.GrantStaff(r.Context(), r.PathValue("openid"), in.StoreID)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Staff outlet.Staff `json:"staff"`
		}{st})
		return nil
	}
}

// revokeStaff serves DELETE /staff/{openid}: idempotent, 204.
func revokeStaff(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		if err := ol.RevokeStaff(r.Context(), r.PathValue("openid")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// listStaff serves GET /staff[?store_id=&after=&limit=]: the staff roles
// in OpenID order, all or one store's (404 store_not_found for an unknown
// store), 200 {"staff":[{"openid","granted_at","store_id"?}],"next"?}.
func listStaff(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		limit, err := httpapi.IntParam(r, "limit", 100, 1, 100)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		list, next, err := ol.ListStaff(r.Context(), q.Get("store_id"), q.Get("after"), limit)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Staff []outlet.Staff `json:"staff"`
			Next  string         `json:"next,omitempty"`
		}{list, next})
		return nil
	}
}
