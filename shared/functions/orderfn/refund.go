package orderfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/session"
)

// RefundHandler serves the admin's POST /orders/{id}/refund {"amount"?, "reason"}
// → 200 {"order"} with the order refunding; the REFUND.* notify finishes it.
func RefundHandler(svc *order.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden.WithMessage("the admin token is required")
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var req order.RefundRequest
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		o, replayed, err := svc.Refund(r.Context(), r.PathValue("id"), req, key)
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, replayed)
		httpapi.JSON(w, http.StatusOK, map[string]any{"order": o})
		return nil
	}
}
