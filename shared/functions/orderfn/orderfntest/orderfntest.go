// Package orderfntest runs the order and product routes over a complete
// order environment (ordertest.Env): the real handlers of orderfn and
// productfn, the real pay-notify route that the WeChat Pay emulator
// delivers to, and test headers in place of session tokens. It is the HTTP
// side of ordertest, for the tests of shared/functions; domain tests use
// ordertest alone.
package orderfntest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/functions/orderfn"
	"github.com/minifn/minifn/shared/functions/productfn"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store/storetest"
)

// Header names the test server reads in place of a session token.
const (
	UserHeader  = "X-Test-User"
	AdminHeader = "X-Test-Admin"
)

// Env is an ordertest.Env whose Server serves the order and product routes.
type Env struct {
	*ordertest.Env
}

// New builds an ordertest.Env on backend b and mounts the routes on its
// Server; everything is closed by t.Cleanup.
func New(t testing.TB, b storetest.Backend, opts ordertest.Options) *Env {
	t.Helper()
	e := &Env{ordertest.New(t, b, opts)}
	e.Handler = e.routes()
	return e
}

// routes mounts every order-related handler; the test headers stand in for
// the session middleware.
func (e *Env) routes() http.Handler {
	mux := http.NewServeMux()
	for pattern, h := range productfn.ProductsHandler(e.Products) {
		mux.Handle(pattern, h)
	}
	for pattern, h := range orderfn.TableHandler(e.Orders) { // the table queue and serve (queue.go)
		mux.Handle(pattern, h)
	}
	mux.Handle("POST /orders", orderfn.OrderCreateHandler(e.Orders))
	for pattern, h := range orderfn.OrdersHandler(e.Orders) {
		mux.Handle(pattern, h)
	}
	mux.Handle("POST /orders/{id}/refund", orderfn.RefundHandler(e.Orders))
	for pattern, h := range orderfn.ExitPassHandler(e.Orders) {
		mux.Handle(pattern, h)
	}
	mux.Handle("POST /pay/notify", orderfn.PayNotifyHandler(e.Client, orderfn.Notified{Orders: e.Orders}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if u := r.Header.Get(UserHeader); u != "" {
			ctx = session.WithUser(ctx, u)
		}
		if r.Header.Get(AdminHeader) != "" {
			ctx = session.WithAdmin(ctx)
		}
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Do sends a request to the API as user (openid; "" for none) or, with
// user "admin", with the admin marker.
func (e *Env) Do(t testing.TB, method, path, user string, body any, header ...string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, e.Server.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch user {
	case "":
	case "admin":
		req.Header.Set(AdminHeader, "1")
	default:
		req.Header.Set(UserHeader, user)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}
