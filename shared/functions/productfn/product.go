package productfn

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/minifn/minifn/shared/httpapi"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store"
)

// ProductsHandler returns the handlers of GET /products (anyone: the
// products on sale; the admin: all of them) and POST /products (admin), by
// route. The Spec wraps POST in the admin middleware, and GET in
// session.AllowAdmin so that the admin token is recognised there.
func ProductsHandler(ps *product.Service, st store.Store) map[string]httpapi.Func {
	return map[string]httpapi.Func{"GET /products": listProducts(ps), "POST /products": putProduct(ps, st)}
}

// listProducts serves GET /products, in SKU order, paginated with ?after=.
// Inactive products are listed to the admin only.
func listProducts(ps *product.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit, err := productsLimit(r, 100)
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

// productInput is POST /products: the fields present change, the others are
// kept (a new product needs title and price; active defaults to true).
type productInput struct {
	SKU        string  `json:"sku"`
	Title      *string `json:"title"`
	Price      *int64  `json:"price"`
	Stock      *int64  `json:"stock"`       // absolute
	StockDelta *int64  `json:"stock_delta"` // relative to the stock now
	Active     *bool   `json:"active"`
	IfVersion  *int64  `json:"if_version"` // the version the editor loaded
	// Fulfillment: virtual, pickup or express (WeChat shipping); "" the default.
	Fulfillment *string `json:"fulfillment"`
}

func putProduct(ps *product.Service, st store.Store) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return apperr.New(apperr.Forbidden, "forbidden", "the admin token is required")
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var in productInput
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		edit := product.Edit{SKU: in.SKU, Title: in.Title, Price: in.Price, Active: in.Active,
			Stock: in.Stock, StockDelta: in.StockDelta, IfVersion: in.IfVersion, Fulfillment: in.Fulfillment}
		if err := edit.Validate(); err != nil {
			return err
		}
		ik, err := idem.New("products", "admin", key, in)
		if err != nil {
			return err
		}
		if b, ok, err := ik.Lookup(r.Context(), st); err != nil || ok {
			return replayProduct(w, b, err)
		}
		res, err := ps.Save(r.Context(), edit, ik)
		if !ik.IsZero() && store.FailedOp(err) == 1 {
			b, _, err := ik.Lookup(r.Context(), st)
			return replayProduct(w, b, err)
		}
		if err != nil {
			return err
		}
		writeProduct(w, res, false)
		return nil
	}
}

func replayProduct(w http.ResponseWriter, b []byte, err error) error {
	if err != nil {
		return err
	}
	var res product.PutResult
	if err := json.Unmarshal(b, &res); err != nil {
		return errors.Join(errors.New("products: corrupt idempotency record"), err)
	}
	writeProduct(w, res, true)
	return nil
}

// writeProduct answers 201 for a new product and 200 for a replaced one.
func writeProduct(w http.ResponseWriter, res product.PutResult, replayed bool) {
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	httpapi.JSON(w, status, map[string]any{"product": res.Product})
}

// limitParam reads ?limit= (1 to max; max when absent).
func productsLimit(r *http.Request, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return max, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, apperr.Invalidf("query parameter \"limit\" must be 1 to %d", max)
	}
	return n, nil
}
