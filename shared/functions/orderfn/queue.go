package orderfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/session"
)

// TableHandler serves a store's table-order queue (docs/tables.md), for
// the admin token or staff of that store (session.RequireAny; anyone else
// 403 not_staff / not_store_staff):
//
//	GET  /stores/{id}/queue[?status=new|serving|served&after=&limit=]  → {"queue":[…],"next"?}
//	POST /orders/{id}/serve {"status":"serving"|"served"}               → {"order"}; 409 not_servable
//
// It returns the handlers by route; the Spec puts each behind its session
// middleware.
func TableHandler(svc *order.Service) map[string]httpapi.Func {
	rt := map[string]httpapi.Func{}
	rt["GET /stores/{id}/queue"] = func(w http.ResponseWriter, r *http.Request) error {
		limit, err := httpapi.IntParam(r, "limit", 50, 1, 100)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		list, next, err := svc.Queue(r.Context(), staffOf(r), r.PathValue("id"),
			order.QueueQuery{Status: q.Get("status"), After: q.Get("after"), Limit: limit})
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Queue []order.QueueEntry `json:"queue"`
			Next  string             `json:"next,omitempty"`
		}{list, next})
		return nil
	}
	rt["POST /orders/{id}/serve"] = func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Status string `json:"status"`
		}
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		o, err := svc.Serve(r.Context(), staffOf(r), r.PathValue("id"), req.Status)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	}
	return rt
}

// staffOf is the caller of a queue route: the admin token, or a user.
func staffOf(r *http.Request) order.Staff {
	a := order.Staff{Admin: session.IsAdmin(r.Context())}
	a.OpenID, _ = session.UserFrom(r.Context())
	return a
}
