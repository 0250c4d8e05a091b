// Package productfn holds the products function: the catalog, listed to
// anyone and written by the admin, with its HTTP handler.
package productfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/product"
)

// Products lists the catalog (anyone: what is on sale; the admin: everything)
// and creates or edits products (admin).
var Products = app.Spec{
	Name:   "products",
	Routes: []string{"GET /products", "POST /products", "GET /products/barcode/{code}"},
	Build: func(a *app.App) (platform.Function, error) {
		h := ProductsHandler(product.New(a.Store, product.Options{Now: a.Now}))
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /products":                a.Sessions.AllowAdmin(h["GET /products"]),
			"POST /products":               a.Sessions.RequireAdmin(h["POST /products"]),
			"GET /products/barcode/{code}": a.Sessions.AllowAdmin(h["GET /products/barcode/{code}"]),
		})}, nil
	},
}
