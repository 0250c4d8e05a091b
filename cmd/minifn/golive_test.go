package main

import (
	"testing"
	"time"
)

// TestDevShippingThroughPush runs the go-live loop of a virtual order on
// `minifn dev` as a merchant would see it: paid → shipping uploaded to
// WeChat's shipping management → WeChat's trade_manage_order_settlement
// push, sent by the emulator in safe mode to dev's own /wx/push (the wx-push
// function) → recorded on the order; then the buyer confirms and WeChat
// settles → the second push records the settlement.
func TestDevShippingThroughPush(t *testing.T) {
	s := newShop(t)
	id := s.paidOrder(t, s.alice)
	shipping := func() map[string]any {
		o := s.call(t, "GET", "/orders/"+id, s.admin, "").body["order"].(map[string]any)
		sh, _ := o["shipping"].(map[string]any)
		return sh
	}
	waitFor := func(what string, ok func(map[string]any) bool) map[string]any {
		t.Helper()
		var sh map[string]any
		for range 250 {
			if sh = shipping(); sh != nil && ok(sh) {
				return sh
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s never happened: shipping %v", what, sh)
		return nil
	}
	sh := waitFor("the upload and the settlement push at shipping", func(sh map[string]any) bool {
		return sh["status"] == "uploaded" && sh["estimated_settlement_at"] != nil
	})
	if sh["type"] != "virtual" {
		t.Fatalf("shipping %v; want a virtual upload", sh)
	}
	o := s.call(t, "GET", "/orders/"+id, s.admin, "").body["order"].(map[string]any)
	tx := o["transaction_id"].(string)
	if a := s.call(t, "POST", "/_emulator/shipping/"+tx+"/settle", "", `{"manual":true}`); a.status != 204 {
		t.Fatalf("settle: %d %s", a.status, a.raw)
	}
	sh = waitFor("the settlement push", func(sh map[string]any) bool { return sh["settled_at"] != nil })
	if sh["status"] != "confirmed" || sh["confirm_method"] != "manual" || sh["confirmed_at"] == nil {
		t.Fatalf("after settlement: %v", sh)
	}
	// Both pushes went through /wx/push, answered success. The emulator
	// logs a push once its answer is back, a moment after wx-push wrote it.
	var pushes []any
	n := 0
	for range 250 {
		pushes = do(t, "GET", s.base+"/_emulator/pushes", "", nil).body["pushes"].([]any)
		n = 0
		for _, p := range pushes {
			if p.(map[string]any)["event"] == "trade_manage_order_settlement" {
				n++
			}
		}
		if n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n != 2 {
		t.Fatalf("%d settlement pushes; want 2: %v", n, pushes)
	}
	for _, p := range pushes {
		if p := p.(map[string]any); p["answer"] != "success" || p["mode"] != "safe" {
			t.Errorf("push %v; want answered success, in safe mode", p)
		}
	}
}
