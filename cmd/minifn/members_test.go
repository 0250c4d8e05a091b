package main

import (
	"strings"
	"testing"
	"time"
)

// TestMembersDev drives tiers through `minifn dev` and the Pay emulator:
// the merchant's tiers (validated), the caller's growth after a paid order,
// the member discount as its own line before the coupon on the next order,
// and a refund that lowers the tier.
func TestMembersDev(t *testing.T) {
	s := newShop(t)
	tiers := `{"tiers":[{"id":"basic","name":"普通","min_growth":0},` +
		`{"id":"silver","name":"银卡","min_growth":5000,"discount_percent":10},` +
		`{"id":"gold","name":"金卡","min_growth":20000,"discount_percent":20,"points_multiplier":2}]}`
	wantError(t, "a user sets tiers", s.call(t, "PUT", "/tiers", s.alice, tiers), 403, "forbidden")
	a := s.call(t, "PUT", "/tiers", s.admin, `{"tiers":[{"id":"basic","name":"b","min_growth":0},{"id":"x","name":"x","min_growth":10,"discount_percent":100}]}`)
	wantError(t, "a discount of 100%", a, 400, "invalid_request")
	if !strings.Contains(a.raw, `tiers[1].discount_percent`) {
		t.Fatalf("the error does not name the field: %s", a.raw)
	}
	wantError(t, "a first tier above 0", s.call(t, "PUT", "/tiers", s.admin, `{"tiers":[{"id":"a","name":"a","min_growth":5}]}`), 400, "invalid_request")
	wantError(t, "unsorted tiers", s.call(t, "PUT", "/tiers", s.admin, `{"tiers":[{"id":"a","name":"a","min_growth":0},{"id":"b","name":"b","min_growth":0}]}`), 400, "invalid_request")
	if a := s.call(t, "PUT", "/tiers", s.admin, tiers); a.status != 200 {
		t.Fatalf("tiers: %d %s", a.status, a.raw)
	}
	if a := s.call(t, "GET", "/tiers", s.alice, ""); a.status != 200 || len(a.body["tiers"].([]any)) != 3 {
		t.Fatalf("GET /tiers: %d %s", a.status, a.raw)
	}
	me := func(wantGrowth float64, wantTier string) map[string]any {
		t.Helper()
		a := s.call(t, "GET", "/members/me", s.alice, "")
		m, _ := a.body["member"].(map[string]any)
		if a.status != 200 || m == nil || m["growth"] != wantGrowth || m["tier"].(map[string]any)["id"] != wantTier {
			t.Fatalf("GET /members/me: %d %s; want growth %v, tier %s", a.status, a.raw, wantGrowth, wantTier)
		}
		return m
	}
	if m := me(0, "basic"); m["next_tier"].(map[string]any)["id"] != "silver" {
		t.Fatalf("next tier: %v", m)
	}
	paid := s.paidOrder(t, s.alice) // 2 × 2800
	me(5600, "silver")

	o := s.order(t, s.alice, s.claim(t, s.alice)) // 5600 − 560 (silver) − 500 (coupon)
	if o["tier_id"] != "silver" || o["member_discount"] != 560.0 || o["discount"] != 500.0 || o["total"] != 4540.0 {
		t.Fatalf("order with a tier and a coupon: %v", o)
	}
	if a := s.call(t, "POST", "/orders/"+paid+"/refund", s.admin, `{"amount":1000,"reason":"r"}`); a.status >= 300 {
		t.Fatalf("refund: %d %s", a.status, a.raw)
	}
	for range 250 {
		a := s.call(t, "GET", "/orders/"+paid, s.alice, "")
		if a.body["order"].(map[string]any)["refunded"] == 1000.0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	me(4600, "basic") // the refund lowered the tier

	// A multiplier on the tier bob is in: his next paid order earns 5600 fen
	// × 1 point per yuan × 3 (the paid hook credits after the paid Write).
	triple := strings.Replace(tiers, `"min_growth":0}`, `"min_growth":0,"points_multiplier":3}`, 1)
	if a := s.call(t, "PUT", "/tiers", s.admin, triple); a.status != 200 {
		t.Fatalf("tiers: %d %s", a.status, a.raw)
	}
	s.paidOrder(t, s.bob)
	var pts any
	for range 250 {
		if pts = s.call(t, "GET", "/points", s.bob, "").body["balance"]; pts == 168.0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("bob's points %v; want 56 × 3", pts)
}
