// Package outletfn holds the stores function: the merchant's physical
// stores (package outlet), found nearby by anyone and written by the
// admin, with its HTTP handlers.
package outletfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/platform"
)

// Stores lists and shows stores (anyone; the admin token also sees closed
// ones in lists) and creates and edits them (admin).
//
//	GET  /stores?lat=&lng=&radius_m=[&limit=]  nearest first, with distance_m
//	GET  /stores[?after=&limit=]                in id order, paged (the console)
//	GET  /stores/{id}                           one store, open or closed
//	POST /stores                                admin, Idempotency-Key → 201 {"store"}
//	PUT  /stores/{id}                           admin, "if_version" → 200 {"store"}
var Stores = app.Spec{
	Name:   "stores",
	Routes: []string{"GET /stores", "GET /stores/{id}", "POST /stores", "PUT /stores/{id}"},
	Build: func(a *app.App) (platform.Function, error) {
		h := Handlers(outlet.New(a.Store, outlet.Options{Now: a.Now}))
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /stores":      a.Sessions.AllowAdmin(h["GET /stores"]),
			"GET /stores/{id}": a.Sessions.AllowAdmin(h["GET /stores/{id}"]),
			"POST /stores":     a.Sessions.RequireAdmin(h["POST /stores"]),
			"PUT /stores/{id}": a.Sessions.RequireAdmin(h["PUT /stores/{id}"]),
		})}, nil
	},
}
