package httpapi

import (
	"net/http"
	"strconv"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/session"
)

// errNoUser answers an order route reached without a user session (the
// Require middleware normally stops it first).
var errNoUser = apperr.New(apperr.Unauthenticated, "unauthenticated", "a user token is required")

// OrderCreate serves POST /orders for the signed-in user: {"items":[{"sku",
// "quantity"}],"coupon_id"?} → 201 {"order","payment"}. Prices come from the
// catalog; any price the client sends is ignored.
func OrderCreate(svc *order.Service) http.Handler {
	rt := NewRouter()
	rt.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return errNoUser
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var req order.CreateRequest
		if err := Decode(r, &req); err != nil {
			return err
		}
		c, err := svc.Create(r.Context(), openid, req, key)
		if err != nil {
			return err
		}
		if c.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		body := struct {
			Order   order.Order `json:"order"`
			Payment any         `json:"payment,omitempty"`
		}{Order: c.Order}
		if c.Payment != nil {
			body.Payment = c.Payment
		}
		JSON(w, http.StatusCreated, body)
		return nil
	})
	return rt
}

// Orders serves the signed-in user's orders: GET /orders (newest first,
// ?limit= and ?after=<next>), GET /orders/{id} (another user's order is 404),
// POST /orders/{id}/cancel.
func Orders(svc *order.Service) http.Handler {
	rt := NewRouter()
	rt.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return errNoUser
		}
		limit := 20
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100 {
				return apperr.Invalidf("query parameter \"limit\" must be 1 to 100")
			}
			limit = n
		}
		list, next, err := svc.List(r.Context(), openid, r.URL.Query().Get("after"), limit)
		if err != nil {
			return err
		}
		JSON(w, http.StatusOK, struct {
			Orders []order.Order `json:"orders"`
			Next   string        `json:"next,omitempty"`
		}{list, next})
		return nil
	})
	rt.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return errNoUser
		}
		o, err := svc.Get(r.Context(), openid, r.PathValue("id"))
		if err != nil {
			return err
		}
		JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	})
	rt.HandleFunc("POST /orders/{id}/cancel", func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return errNoUser
		}
		o, err := svc.Cancel(r.Context(), openid, r.PathValue("id"))
		if err != nil {
			return err
		}
		JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	})
	return rt
}
