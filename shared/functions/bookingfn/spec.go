// Package bookingfn holds the bookings function with its HTTP handlers:
// slots per store and day (the merchant defines them), bookings that take
// seats of a slot, their cancel and check-in by the store's staff (package
// booking). The reminder before the slot is sent by the shop's minute
// timer, function order-expire (orderfn): an SCF web function, as this one
// is, takes no timer trigger.
//
// Slot days and times are the store's local time, China Standard Time
// (UTC+8); a slot is named "YYYY-MM-DDTHH:MM" (booking package doc).
package bookingfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/booking"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/session"
)

// Routes of the bookings function.
var routes = []string{
	"GET /stores/{id}/slots", "PUT /stores/{id}/slots", "GET /stores/{id}/bookings",
	"POST /bookings", "GET /bookings", "GET /bookings/{id}",
	"POST /bookings/{id}/cancel", "POST /bookings/{id}/check-in",
}

// Bookings serves bookings.
//
//	GET  /stores/{id}/slots?date=YYYY-MM-DD  user or admin → {"slots":[{"slot","start","end","capacity","taken","available"}]}
//	PUT  /stores/{id}/slots {"date","slots":[{"start","end","capacity"}]}  admin → {"slots":[…]}
//	GET  /stores/{id}/bookings?date=         staff of the store or admin → {"bookings":[…]}
//	POST /bookings {"store_id","slot","party_size"}  user (Idempotency-Key) → 201 {"booking"}
//	GET  /bookings[?limit=&after=]           user → {"bookings":[…],"next"?}
//	GET  /bookings/{id}                      its user or admin → {"booking"}
//	POST /bookings/{id}/cancel               its user or admin → {"booking"}
//	POST /bookings/{id}/check-in             staff of the store or admin → {"booking"}
var Bookings = app.Spec{
	Name:   "bookings",
	Routes: routes,
	Build: func(a *app.App) (platform.Function, error) {
		// The physical stores and their staff are package outlet's.
		ol := outlet.New(a.Store, outlet.Options{Now: a.Now})
		h := Handlers(booking.New(a.Store, booking.Options{Stores: ol, Now: a.Now}))
		user, either, admin := a.Sessions.Require, a.Sessions.RequireAny, a.Sessions.RequireAdmin
		limit := a.RateLimit(app.RateActionBooking) // MINIFN_RATE_BOOKING, per openid and source IP
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /stores/{id}/slots":       either(h["GET /stores/{id}/slots"]),
			"PUT /stores/{id}/slots":       admin(h["PUT /stores/{id}/slots"]),
			"GET /stores/{id}/bookings":    either(h["GET /stores/{id}/bookings"]),
			"POST /bookings":               user(limit(h["POST /bookings"])),
			"GET /bookings":                user(h["GET /bookings"]),
			"GET /bookings/{id}":           either(h["GET /bookings/{id}"]),
			"POST /bookings/{id}/cancel":   either(h["POST /bookings/{id}/cancel"]),
			"POST /bookings/{id}/check-in": either(h["POST /bookings/{id}/check-in"]),
		})}, nil
	},
}

func caller(r *http.Request) booking.Caller {
	openid, _ := session.UserFrom(r.Context())
	return booking.Caller{OpenID: openid, Admin: session.IsAdmin(r.Context())}
}

// Handlers returns the bookings function's handlers by route, without
// their session middleware (Build adds it).
func Handlers(svc *booking.Service) map[string]httpapi.Func {
	one := func(w http.ResponseWriter, b booking.Booking, err error) error {
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"booking": b})
		return nil
	}
	return map[string]httpapi.Func{
		"GET /stores/{id}/slots": func(w http.ResponseWriter, r *http.Request) error {
			slots, err := svc.Day(r.Context(), r.PathValue("id"), r.URL.Query().Get("date"))
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"slots": slots})
			return nil
		},
		"PUT /stores/{id}/slots": func(w http.ResponseWriter, r *http.Request) error {
			var in struct {
				Date  string            `json:"date"`
				Slots []booking.SlotDef `json:"slots"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			if in.Slots == nil {
				return apperr.Invalidf(`field "slots" is required (an empty list clears the day)`)
			}
			slots, err := svc.SetDay(r.Context(), r.PathValue("id"), in.Date, in.Slots)
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"slots": slots})
			return nil
		},
		"GET /stores/{id}/bookings": func(w http.ResponseWriter, r *http.Request) error {
			bs, err := svc.StoreDay(r.Context(), caller(r), r.PathValue("id"), r.URL.Query().Get("date"))
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"bookings": bs})
			return nil
		},
		"POST /bookings": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			key := r.Header.Get(idem.Header)
			if err := idem.Check(key); err != nil {
				return err
			}
			var req booking.BookRequest
			if err := httpapi.Decode(r, &req); err != nil {
				return err
			}
			out, err := svc.Book(r.Context(), openid, req, key)
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, out.Replayed)
			httpapi.JSON(w, http.StatusCreated, map[string]any{"booking": out.Booking})
			return nil
		},
		"GET /bookings": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			limit, err := httpapi.IntParam(r, "limit", 20, 1, 100)
			if err != nil {
				return err
			}
			bs, next, err := svc.Mine(r.Context(), openid, limit, r.URL.Query().Get("after"))
			if err != nil {
				return err
			}
			body := map[string]any{"bookings": bs}
			if next != "" {
				body["next"] = next
			}
			httpapi.JSON(w, http.StatusOK, body)
			return nil
		},
		"GET /bookings/{id}": func(w http.ResponseWriter, r *http.Request) error {
			b, err := svc.Get(r.Context(), caller(r), r.PathValue("id"))
			return one(w, b, err)
		},
		"POST /bookings/{id}/cancel": func(w http.ResponseWriter, r *http.Request) error {
			b, err := svc.Cancel(r.Context(), caller(r), r.PathValue("id"))
			return one(w, b, err)
		},
		"POST /bookings/{id}/check-in": func(w http.ResponseWriter, r *http.Request) error {
			b, err := svc.CheckIn(r.Context(), caller(r), r.PathValue("id"))
			return one(w, b, err)
		},
	}
}
