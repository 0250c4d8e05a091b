package productfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/session"
)

// ProductsHandler returns the handlers of GET /products (anyone: the
// products on sale; the admin: all of them), GET /products/barcode/{code}
// (the same rule) and POST /products (admin), by route. The Spec wraps POST in the admin middleware, and GET in
// session.AllowAdmin so that the admin token is recognised there.
func ProductsHandler(ps *product.Service) map[string]httpapi.Func {
	return map[string]httpapi.Func{"GET /products": listProducts(ps), "POST /products": putProduct(ps),
		"GET /products/barcode/{code}": productByBarcode(ps)}
}

// productByBarcode serves GET /products/barcode/{code}: the product a
// scanner read (EAN-13 or UPC-A; 400 invalid_barcode when the check digit
// is wrong, 404 product_not_found when no product carries it). As in GET
// /products, an inactive product is shown to the admin only: a shopper
// gets 404, as for a product the shop does not sell.
func productByBarcode(ps *product.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := ps.GetByBarcode(r.Context(), r.PathValue("code"))
		if err != nil {
			return err
		}
		if !p.Active && !session.IsAdmin(r.Context()) {
			return product.ErrNotFound.WithMessage("no product on sale has barcode %s", p.Barcode)
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"product": p})
		return nil
	}
}

// listProducts serves GET /products, in SKU order, paginated with ?after=.
// Inactive products are listed to the admin only.
func listProducts(ps *product.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit, err := httpapi.IntParam(r, "limit", 100, 1, 100)
		if err != nil {
			return err
		}
		list, next, err := ps.List(r.Context(), r.URL.Query().Get("after"), limit, session.IsAdmin(r.Context()))
		if err != nil {
			return err
		}
		body := struct {
			Products []product.Product `json:"products"`
			Next     string            `json:"next,omitempty"`
		}{list, next}
		httpapi.JSON(w, http.StatusOK, body)
		return nil
	}
}

// putProduct serves POST /products: the body is a product.Edit (the fields
// present change, the others are kept; a new product needs title and price,
// and active defaults to true).
func putProduct(ps *product.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden.WithMessage("the admin token is required")
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var edit product.Edit
		if err := httpapi.Decode(r, &edit); err != nil {
			return err
		}
		res, replayed, err := ps.Save(r.Context(), edit, key)
		if err != nil {
			return err
		}
		// 201 for a new product, 200 for a changed one.
		status := http.StatusOK
		if res.Created {
			status = http.StatusCreated
		}
		httpapi.MarkReplayed(w, replayed)
		httpapi.JSON(w, status, map[string]any{"product": res.Product})
		return nil
	}
}
