package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// callKey sends a request, JSON when it has a body, with the given
// Idempotency-Key ("": none) and decodes the answer; replayed says whether
// it carried Idempotent-Replayed: true.
func (s *shop) callKey(t *testing.T, method, path, token, key, body string) (a answer, replayed bool) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a = answer{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a, res.Header.Get("Idempotent-Replayed") == "true"
}

// paidOrder places an order for token and has the Pay emulator pay it; it
// returns the order's id once the order reads paid.
func (s *shop) paidOrder(t *testing.T, token string) string {
	t.Helper()
	o := s.order(t, token, "")
	id := o["id"].(string)
	if a := post(t, s.base+"/_emulator/pay/"+o["out_trade_no"].(string), ""); a.status != 200 {
		t.Fatalf("pay: %d %s", a.status, a.raw)
	}
	for range 250 {
		if a := s.call(t, "GET", "/orders/"+id, token, ""); a.body["order"].(map[string]any)["status"] == "paid" {
			return id
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("order %s never read paid", id)
	return ""
}

// TestIdempotencyKeyBoundToItsRequest sends, on every creating route, a
// request with a key, the same request again (replayed, nothing new), then
// the same key with another request: 422 idempotency_key_reused, nothing
// done, never the first request's answer. Above all for refunds: the same
// key on another order must not answer "replayed" with the first order
// while the second was never refunded.
func TestIdempotencyKeyBoundToItsRequest(t *testing.T) {
	s := newShop(t)
	reused := func(t *testing.T, what string, a answer) {
		t.Helper()
		wantError(t, what+" with a reused key", a, http.StatusUnprocessableEntity, "idempotency_key_reused")
	}
	twice := func(t *testing.T, what, method, path, token, key, body string, status int) answer {
		t.Helper()
		first, rep := s.callKey(t, method, path, token, key, body)
		if first.status != status || rep {
			t.Fatalf("%s: %d replayed=%v %s", what, first.status, rep, first.raw)
		}
		again, rep := s.callKey(t, method, path, token, key, body)
		// A replayed order carries fresh payment parameters and a replayed
		// refund the order as it is now: their id is what must not change.
		same := again.raw == first.raw
		if what == "order" || what == "refund" {
			same = again.body["order"].(map[string]any)["id"] == first.body["order"].(map[string]any)["id"]
		}
		if again.status != status || !rep || !same {
			t.Fatalf("%s again: %d replayed=%v\n%s\nfirst: %s", what, again.status, rep, again.raw, first.raw)
		}
		return first
	}

	t.Run("refund of another order", func(t *testing.T) {
		a, b := s.paidOrder(t, s.alice), s.paidOrder(t, s.bob)
		twice(t, "refund", "POST", "/orders/"+a+"/refund", s.admin, "r1", `{"reason":"退货"}`, 200)
		res, _ := s.callKey(t, "POST", "/orders/"+b+"/refund", s.admin, "r1", `{"reason":"退货"}`)
		reused(t, "refund of order B", res)
		res, _ = s.callKey(t, "POST", "/orders/"+a+"/refund", s.admin, "r1", `{"reason":"退货","amount":1}`)
		reused(t, "refund of another amount", res)
		got := s.call(t, "GET", "/orders/"+b, s.bob, "").body["order"].(map[string]any)
		if got["status"] != "paid" || got["refunds"] != nil {
			t.Fatalf("order B after the refused refund: %v", got)
		}
		// A fresh key refunds B.
		if res, _ := s.callKey(t, "POST", "/orders/"+b+"/refund", s.admin, "r2", `{"reason":"退货"}`); res.status != 200 {
			t.Fatalf("refund of B with its own key: %d %s", res.status, res.raw)
		}
	})

	t.Run("order", func(t *testing.T) {
		first := twice(t, "order", "POST", "/orders", s.alice, "o1", `{"items":[{"sku":"latte","quantity":1}]}`, 201)
		res, _ := s.callKey(t, "POST", "/orders", s.alice, "o1", `{"items":[{"sku":"latte","quantity":3}]}`)
		reused(t, "order of another quantity", res)
		// Keys are per caller: bob's o1 is his own.
		if res, rep := s.callKey(t, "POST", "/orders", s.bob, "o1", `{"items":[{"sku":"latte","quantity":3}]}`); res.status != 201 || rep {
			t.Fatalf("bob's order with alice's key name: %d replayed=%v %s", res.status, rep, res.raw)
		}
		list := s.call(t, "GET", "/orders", s.alice, "").body["orders"].([]any)
		n := 0
		for _, o := range list {
			if o.(map[string]any)["id"] == first.body["order"].(map[string]any)["id"] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("alice's orders: %v", list)
		}
	})

	t.Run("coupon claim", func(t *testing.T) {
		other := s.call(t, "POST", "/campaigns", s.admin,
			`{"title":"other","discount":{"amount_off":100},"stock":10,"per_user_limit":1,"valid_days":30}`)
		otherID := other.body["campaign"].(map[string]any)["id"].(string)
		twice(t, "claim", "POST", "/coupons/claim", s.bob, "c1", `{"campaign_id":"`+s.campaignID+`"}`, 201)
		res, _ := s.callKey(t, "POST", "/coupons/claim", s.bob, "c1", `{"campaign_id":"`+otherID+`"}`)
		reused(t, "claim of another campaign", res)
		if list := s.call(t, "GET", "/coupons", s.bob, "").body["coupons"].([]any); len(list) != 1 {
			t.Fatalf("bob's coupons: %v", list)
		}
	})

	t.Run("campaign", func(t *testing.T) {
		body := `{"title":"k","discount":{"amount_off":100},"stock":5,"valid_days":3}`
		twice(t, "campaign", "POST", "/campaigns", s.admin, "camp1", body, 201)
		res, _ := s.callKey(t, "POST", "/campaigns", s.admin, "camp1", strings.Replace(body, `"stock":5`, `"stock":50`, 1))
		reused(t, "campaign with another stock", res)
	})

	t.Run("product", func(t *testing.T) {
		twice(t, "product", "POST", "/products", s.admin, "p1", `{"sku":"tea","title":"Tea","price":900,"stock":5}`, 201)
		res, _ := s.callKey(t, "POST", "/products", s.admin, "p1", `{"sku":"tea","title":"Tea","price":1,"stock":5}`)
		reused(t, "product with another price", res)
		for _, p := range s.call(t, "GET", "/products", "", "").body["products"].([]any) {
			if m := p.(map[string]any); m["sku"] == "tea" && m["price"] != 900.0 {
				t.Fatalf("the reused key changed the price: %v", m)
			}
		}
	})

	t.Run("store", func(t *testing.T) {
		body := `{"name":"Jing'an","address":"1 Road","lat":31.2304,"lng":121.4737}`
		first := twice(t, "store", "POST", "/stores", s.admin, "st1", body, 201)
		res, _ := s.callKey(t, "POST", "/stores", s.admin, "st1", strings.Replace(body, `"lat":31.2304`, `"lat":39.9`, 1))
		reused(t, "store at another place", res)
		list := s.call(t, "GET", "/stores", s.admin, "").body["stores"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != first.body["store"].(map[string]any)["id"] {
			t.Fatalf("stores after a replay and a reused key: %v", list)
		}
	})

	t.Run("points", func(t *testing.T) {
		carol := s.login(t, "carol")
		codes := twice(t, "mint", "POST", "/points/codes", s.admin, "m1", `{"points":5,"count":2}`, 201).body["codes"].([]any)
		res, _ := s.callKey(t, "POST", "/points/codes", s.admin, "m1", `{"points":500,"count":2}`)
		reused(t, "mint of other points", res)

		twice(t, "scan", "POST", "/points/scan", carol, "s1", `{"code":"`+codes[0].(string)+`"}`, 200)
		res, _ = s.callKey(t, "POST", "/points/scan", carol, "s1", `{"code":"`+codes[1].(string)+`"}`)
		reused(t, "scan of another code", res)
		if bal := s.call(t, "GET", "/points", carol, "").body["balance"]; bal != 5.0 {
			t.Fatalf("carol's balance %v; want 5 (one code)", bal)
		}

		r1 := twice(t, "reward", "POST", "/rewards", s.admin, "w1", `{"title":"Pin","points":1,"stock":9}`, 201)
		r2, _ := s.callKey(t, "POST", "/rewards", s.admin, "w2", `{"title":"Cup","points":2,"stock":9}`)
		res, _ = s.callKey(t, "POST", "/rewards", s.admin, "w1", `{"title":"Pin","points":1,"stock":10}`)
		reused(t, "reward with another stock", res)
		if n := len(s.call(t, "GET", "/rewards", s.admin, "").body["rewards"].([]any)); n != 2 {
			t.Fatalf("%d rewards; want 2", n)
		}
		id1 := r1.body["reward"].(map[string]any)["id"].(string)
		id2 := r2.body["reward"].(map[string]any)["id"].(string)
		twice(t, "redeem", "POST", "/points/redeem", carol, "d1", `{"reward_id":"`+id1+`"}`, 201)
		res, _ = s.callKey(t, "POST", "/points/redeem", carol, "d1", `{"reward_id":"`+id2+`"}`)
		reused(t, "redeem of another reward", res)
		if bal := s.call(t, "GET", "/points", carol, "").body["balance"]; bal != 4.0 {
			t.Fatalf("carol's balance %v; want 4 (one redemption)", bal)
		}
	})
}
