package orderfn

import (
	"net/http"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/session"
)

// errNoUser answers an order route reached without a user session (the
// Require middleware normally stops it first).
var errNoUser = session.ErrUnauthenticated.WithMessage("a user token is required")

// errShipAdminOnly answers a ship request without the admin token.
var errShipAdminOnly = session.ErrForbidden.WithMessage("only the admin token ships orders")

// errAdminOnly answers a user who asks for every user's orders.
var errAdminOnly = session.ErrForbidden.WithMessage("only the admin token lists every user's orders")

// OrderCreateHandler serves POST /orders for the signed-in user: {"items":[{"sku",
// "quantity"}],"coupon_id"?,"note"?} → 201 {"order","payment"}. Prices come from the
// catalog; any price the client sends is ignored. A note WeChat rates risky
// is 422 content_risky and no order is made (order.Service.Create).
func OrderCreateHandler(svc *order.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return errNoUser
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var req order.CreateRequest
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		c, err := svc.Create(r.Context(), openid, req, key)
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, c.Replayed)
		body := struct {
			Order   order.Order `json:"order"`
			Payment any         `json:"payment,omitempty"`
		}{Order: c.Order}
		if c.Payment != nil {
			body.Payment = c.Payment
		}
		httpapi.JSON(w, http.StatusCreated, body)
		return nil
	}
}

// OrdersHandler serves GET /orders (newest first, ?limit= and ?after=<next>),
// GET /orders/{id}, POST /orders/{id}/cancel and (admin) POST
// /orders/{id}/ship {"express_company","tracking_no"}. A user sees and cancels
// only their own orders (another user's order is 404). The admin token
// (behind session.RequireAny) lists every user's orders, with
// ?status= to filter them, and reads any order. It returns the handlers by
// route; the Spec puts each behind its session middleware.
func OrdersHandler(svc *order.Service) map[string]httpapi.Func {
	rt := map[string]httpapi.Func{}
	rt["GET /orders"] = func(w http.ResponseWriter, r *http.Request) error {
		limit, err := httpapi.IntParam(r, "limit", 20, 1, 100)
		if err != nil {
			return err
		}
		list, next, err := listOrders(r, svc, limit)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Orders []order.Order `json:"orders"`
			Next   string        `json:"next,omitempty"`
		}{list, next})
		return nil
	}
	rt["GET /orders/{id}"] = func(w http.ResponseWriter, r *http.Request) error {
		o, err := getOrder(r, svc)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	}
	rt["POST /orders/{id}/ship"] = func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return errShipAdminOnly
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var req order.ShipRequest
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		o, err := svc.Ship(r.Context(), r.PathValue("id"), req, key)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	}
	rt["POST /orders/{id}/remind-receipt"] = func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return errShipAdminOnly
		}
		var req struct {
			ReceivedAt *time.Time `json:"received_at"` // when the carrier delivered; default now
		}
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		at := time.Now()
		if req.ReceivedAt != nil {
			at = *req.ReceivedAt
		}
		if err := svc.RemindReceipt(r.Context(), r.PathValue("id"), at); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	rt["POST /orders/{id}/cancel"] = func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return errNoUser
		}
		o, err := svc.Cancel(r.Context(), openid, r.PathValue("id"))
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	}
	return rt
}

// listOrders returns the list the caller may see: every user's orders for
// the admin (?status= filters them, ?attention=1 keeps those that need the
// merchant, ?shipping=pending those whose shipping is not with WeChat
// yet), the user's own otherwise.
func listOrders(r *http.Request, svc *order.Service, limit int) ([]order.Order, string, error) {
	q := r.URL.Query()
	if session.IsAdmin(r.Context()) {
		att := q.Get("attention")
		if att != "" && att != "1" {
			return nil, "", apperr.Invalidf("query parameter \"attention\" must be 1")
		}
		return svc.ListAll(r.Context(), order.AllQuery{Status: order.Status(q.Get("status")), Attention: att == "1",
			Shipping: q.Get("shipping"), StoreID: q.Get("store_id"), After: q.Get("after"), Limit: limit})
	}
	openid, ok := session.UserFrom(r.Context())
	switch {
	case !ok:
		return nil, "", errNoUser
	case q.Has("all") || q.Has("status") || q.Has("attention") || q.Has("shipping") || q.Has("store_id"):
		return nil, "", errAdminOnly
	}
	return svc.List(r.Context(), openid, q.Get("after"), limit)
}

// getOrder returns the order {id}: any order for the admin, the user's own
// otherwise (another user's is order_not_found).
func getOrder(r *http.Request, svc *order.Service) (order.Order, error) {
	if session.IsAdmin(r.Context()) {
		return svc.Find(r.Context(), r.PathValue("id"))
	}
	openid, ok := session.UserFrom(r.Context())
	if !ok {
		return order.Order{}, errNoUser
	}
	return svc.Get(r.Context(), openid, r.PathValue("id"))
}
