package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
)

// TestDecodeTypeErrors: a value of the wrong JSON type is refused with 400,
// naming the field with its array indexes, what is wanted, and what came.
func TestDecodeTypeErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"items":[{"sku":"latte","quantity":1.5}]}`, `field "items[0].quantity" must be an integer 1 to 99 (got number 1.5)`},
		{`{"items":[{"sku":"latte","quantity":1},{"sku":"mocha","quantity":"2"}]}`, `field "items[1].quantity" must be an integer 1 to 99 (got string)`},
		{`{"items":[{"sku":"latte","quantity":1},{"sku":"mocha","quantity":2},{"sku":7}]}`, `field "items[2].sku" must be a string (got number)`},
		{`{"items":"latte"}`, `field "items" must be an array (got string)`},
		{`{"coupon_id":{"a":[1,2]},"items":[]}`, `field "coupon_id" must be a string (got object)`},
	}
	for _, c := range cases {
		h := httpapi.Func(func(w http.ResponseWriter, r *http.Request) error {
			var req order.CreateRequest
			return httpapi.Decode(r, &req)
		})
		r := httptest.NewRequest("POST", "/orders", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || e.Error.Code != "invalid_request" || e.Error.Message != c.want {
			t.Errorf("%s: %d %s\n want %q", c.body, w.Code, w.Body.String(), c.want)
		}
	}
}
