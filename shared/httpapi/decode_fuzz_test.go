package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
)

// FuzzDecode sends arbitrary bodies and content types through Decode into
// the request types the handlers use, behind httpapi.Func, and checks the
// contract: 200 or a 4xx (400, 413, 415) in the {"error":{"code","message"}}
// shape, never a 5xx or a panic.
//
//	go test ./shared/httpapi -run '^$' -fuzz FuzzDecode -fuzztime 30s
func FuzzDecode(f *testing.F) {
	f.Add("application/json", []byte(`{"items":[{"sku":"latte","quantity":2}],"coupon_id":"c1"}`), uint8(0))
	f.Add("application/json; charset=utf-8", []byte(`{"campaign_id":"x"}`), uint8(1))
	f.Add("text/plain", []byte(`{"code":"x"}`), uint8(2))
	f.Add("", []byte(`{"items":"nope"}`), uint8(0))
	f.Add("application/merge-patch+json", []byte(`[1,2`), uint8(1))
	f.Add("application/json", bytes.Repeat([]byte(" "), httpapi.MaxBody+1), uint8(2))
	f.Add("application/json;;", []byte(`{"code":1e999}`), uint8(2))
	targets := []func() any{
		func() any { return new(order.CreateRequest) },
		func() any {
			return new(struct {
				CampaignID string `json:"campaign_id"`
			})
		},
		func() any { return new(map[string]any) },
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, which uint8) {
		h := httpapi.Func(func(w http.ResponseWriter, r *http.Request) error {
			if err := httpapi.Decode(r, targets[int(which)%len(targets)]()); err != nil {
				return err
			}
			w.WriteHeader(http.StatusOK)
			return nil
		})
		r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		if contentType != "" {
			r.Header["Content-Type"] = []string{contentType}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			return
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("status %d for %q %q", w.Code, contentType, body)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("error body %q is not the contract's shape", w.Body.String())
		}
		if strings.ContainsAny(e.Error.Code, " \n") {
			t.Fatalf("error code %q is not snake_case", e.Error.Code)
		}
	})
}
