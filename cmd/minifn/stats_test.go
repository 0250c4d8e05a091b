package main

import (
	"testing"
)

// TestConsoleStats: GET /stats through `minifn dev` (the qrcode function):
// two logins and a claim of the shop show as today's counters, over 14 days
// by default; a bad range is the contract's 400.
func TestConsoleStats(t *testing.T) {
	s := newShop(t)
	s.claim(t, s.alice)
	a := s.call(t, "GET", "/stats", s.admin, "")
	if a.status != 200 {
		t.Fatalf("GET /stats: %d %s", a.status, a.raw)
	}
	days, _ := a.body["days"].([]any)
	if len(days) != 14 || a.body["zone"] != "UTC+08:00" {
		t.Fatalf("GET /stats: %s", a.raw)
	}
	today := days[13].(map[string]any)
	if today["coupons_claimed"] != float64(1) || today["new_users"] != float64(2) || today["paid_orders"] != float64(0) {
		t.Fatalf("today: %v", today)
	}
	if a := s.call(t, "GET", "/stats?days=90", s.admin, ""); a.status != 200 || len(a.body["days"].([]any)) != 90 {
		t.Fatalf("days=90: %d", a.status)
	}
	for _, q := range []string{"0", "91", "x", "-3"} {
		wantError(t, "GET /stats?days="+q, s.call(t, "GET", "/stats?days="+q, s.admin, ""), 400, "invalid_request")
	}
}
