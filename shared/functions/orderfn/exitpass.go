package orderfn

import (
	"net/http"
	"time"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/qrpng"
	"github.com/minifn/minifn/shared/session"
)

// Exit pass response headers: the code the PNG holds (for a client that
// shows it as text too) and when it stops being valid, so that the
// Mini-Program can ask for a new one in time.
const (
	HeaderExitPassCode    = "X-Minifn-Exit-Pass"
	HeaderExitPassExpires = "X-Minifn-Expires-At"
)

// ExitPassHandler serves scan-and-go's exit passes (order/exitpass.go), by
// route:
//
//   - GET /orders/{id}/exit-pass (the order's owner): a PNG QR of a new
//     pass (?size= 64 to 1024 pixels), valid order.ExitPassTTL; it replaces
//     the previous one. 409 exit_refused when the order is not a paid
//     scan-and-go order without refund, already_exited once let out.
//   - POST /exit-passes/verify {"code"} (staff of the order's store, or
//     the admin token): 200 with the order's items, once; Idempotency-Key
//     makes a retry of the same verify answer the same 200.
func ExitPassHandler(svc *order.Service) map[string]httpapi.Func {
	return map[string]httpapi.Func{
		"GET /orders/{id}/exit-pass": func(w http.ResponseWriter, r *http.Request) error {
			openid, ok := session.UserFrom(r.Context())
			if !ok {
				return errNoUser
			}
			size, err := httpapi.IntParam(r, "size", qrpng.DefaultSize, 64, qrpng.MaxSize)
			if err != nil {
				return err
			}
			p, err := svc.IssueExitPass(r.Context(), openid, r.PathValue("id"))
			if err != nil {
				return err
			}
			png, err := qrpng.Encode(p.Code, size)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", qrpng.ContentType)
			w.Header().Set("Cache-Control", "no-store") // one use: never from a cache
			w.Header().Set(HeaderExitPassCode, p.Code)
			w.Header().Set(HeaderExitPassExpires, p.ExpiresAt.Format(time.RFC3339))
			w.WriteHeader(http.StatusOK)
			w.Write(png)
			return nil
		},
		"POST /exit-passes/verify": func(w http.ResponseWriter, r *http.Request) error {
			by := order.Verifier{Admin: session.IsAdmin(r.Context())}
			if !by.Admin {
				openid, ok := session.UserFrom(r.Context())
				if !ok {
					return errNoUser
				}
				by.OpenID = openid
			}
			key := r.Header.Get(idem.Header)
			if err := idem.Check(key); err != nil {
				return err
			}
			var req struct {
				Code string `json:"code" want:"the code of the exit pass QR"`
			}
			if err := httpapi.Decode(r, &req); err != nil {
				return err
			}
			ex, replayed, err := svc.VerifyExitPass(r.Context(), by, req.Code, key)
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, replayed)
			httpapi.JSON(w, http.StatusOK, ex)
			return nil
		},
	}
}
