package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/wallet"
)

// waitNotifies waits until the Pay emulator has delivered every notify of
// outTradeNo of eventType, and returns how many deliveries there were.
func waitNotifies(t *testing.T, base, outTradeNo, eventType string) []map[string]any {
	t.Helper()
	for range 500 {
		a := do(t, "GET", base+"/_emulator/notifies", "", nil)
		var found []map[string]any
		done := true
		for _, n := range a.body["notifies"].([]any) {
			m := n.(map[string]any)
			if m["out_trade_no"] == outTradeNo && m["event_type"] == eventType {
				found = append(found, m)
				done = done && m["delivered"] == true
			}
		}
		if len(found) > 0 && done {
			return found
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the %s notify of %s was never delivered", eventType, outTradeNo)
	return nil
}

// TestWalletDev drives the wallet through `minifn dev` and the Pay
// emulator: a plan, a top-up paid at the emulator whose notify (delivered
// three times) credits amount + bonus once, a spend by the order side's
// API, an admin adjustment, and the refund of the partly spent top-up:
// the unspent principal in cash, its bonus removed.
func TestWalletDev(t *testing.T) {
	cleanEnv(t)
	t.Setenv("MINIFN_WALLET", "on")
	base, d := startDev(t, t.TempDir())
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	code, openid := mintCode(t, base, "alice")
	alice := login(t, base, code).str("token")

	wantError(t, "a user creates a plan", s.call(t, "POST", "/topup-plans", alice, `{"amount":1000,"bonus":200}`), 403, "forbidden")
	wantError(t, "a plan with a bonus over its amount", s.call(t, "POST", "/topup-plans", s.admin, `{"amount":1000,"bonus":2000}`), 400, "invalid_request")
	a := s.call(t, "POST", "/topup-plans", s.admin, `{"amount":1000,"bonus":200}`)
	if a.status != 201 {
		t.Fatalf("plan: %d %s", a.status, a.raw)
	}
	planID := a.body["plan"].(map[string]any)["id"].(string)
	if a := s.call(t, "GET", "/topup-plans", alice, ""); a.status != 200 || !strings.Contains(a.raw, planID) {
		t.Fatalf("plans: %d %s", a.status, a.raw)
	}
	wantError(t, "a top-up of no plan", s.call(t, "POST", "/wallet/topup", alice, `{"plan_id":"nope"}`), 404, "plan_not_found")

	a = s.call(t, "POST", "/wallet/topup", alice, `{"plan_id":"`+planID+`"}`)
	if a.status != 201 {
		t.Fatalf("top-up: %d %s", a.status, a.raw)
	}
	tu := a.body["topup"].(map[string]any)
	no, _ := tu["out_trade_no"].(string)
	if !strings.HasPrefix(no, "wt") || tu["status"] != "pending" || a.body["payment"].(map[string]any)["paySign"] == "" {
		t.Fatalf("top-up answer: %s", a.raw)
	}
	if a := post(t, base+"/_emulator/pay/"+no, ""); a.status != 200 {
		t.Fatalf("pay: %d %s", a.status, a.raw)
	}
	first := waitNotifies(t, base, no, "TRANSACTION.SUCCESS")
	for range 2 {
		if a := s.call(t, "POST", "/_emulator/notifies/"+first[0]["id"].(string)+"/resend", "", ""); a.status >= 300 {
			t.Fatalf("resend: %d %s", a.status, a.raw)
		}
	}
	if n := waitNotifies(t, base, no, "TRANSACTION.SUCCESS"); len(n) != 3 {
		t.Fatalf("deliveries: %v", n)
	}
	a = s.call(t, "GET", "/wallet", alice, "")
	if a.status != 200 || a.body["balance"] != float64(1200) || len(a.body["ledger"].([]any)) != 1 {
		t.Fatalf("wallet after three deliveries of the notify: %s; want 1200 credited once", a.raw)
	}
	if a := s.call(t, "GET", "/wallet/topups/"+no, alice, ""); a.body["topup"].(map[string]any)["status"] != "paid" {
		t.Fatalf("top-up: %s", a.raw)
	}

	// The order side spends 300 (principal first), the admin gives 50.
	ws := wallet.New(d.App.Store, wallet.Options{Now: d.App.Now})
	if _, err := ws.Spend(context.Background(), openid, "order-1", 300); err != nil {
		t.Fatal(err)
	}
	wantError(t, "an adjustment without a reason", s.call(t, "POST", "/wallets/"+openid+"/adjust", s.admin, `{"amount":50}`), 400, "invalid_request")
	if a := s.call(t, "POST", "/wallets/"+openid+"/adjust", s.admin, `{"amount":50,"reason":"goodwill"}`); a.status != 201 || a.body["balance"] != float64(950) {
		t.Fatalf("adjust: %d %s", a.status, a.raw)
	}

	wantError(t, "a user refunds", s.call(t, "POST", "/wallet/topups/"+no+"/refund", alice, `{}`), 403, "forbidden")
	a = s.call(t, "POST", "/wallet/topups/"+no+"/refund", s.admin, `{"reason":"customer asked"}`)
	if a.status != 200 {
		t.Fatalf("refund: %d %s", a.status, a.raw)
	}
	ref := a.body["topup"].(map[string]any)["refunds"].([]any)[0].(map[string]any)
	if ref["amount"] != float64(700) || ref["bonus_removed"] != float64(200) {
		t.Fatalf("refund of a top-up with 300 spent: %v; want 700 in cash, its 200 bonus removed", ref)
	}
	waitNotifies(t, base, no, "REFUND.SUCCESS")
	if a := s.call(t, "GET", "/wallet/topups/"+no, alice, ""); a.body["topup"].(map[string]any)["status"] != "refunded" {
		t.Fatalf("top-up after the refund notify: %s", a.raw)
	}
	a = s.call(t, "GET", "/wallets/"+openid, s.admin, "")
	var sum float64
	for _, e := range a.body["ledger"].([]any) {
		sum += e.(map[string]any)["amount"].(float64)
	}
	if a.status != 200 || a.body["balance"] != float64(50) || sum != 50 {
		t.Fatalf("wallet after the refund: %s; want 50 (the adjustment), the ledger summing to it", a.raw)
	}
	wantError(t, "a user reads another's wallet", s.call(t, "GET", "/wallets/"+openid, alice, ""), 403, "forbidden")
}

// TestWalletDevOff: without MINIFN_WALLET=on every wallet route answers
// 404 wallet_disabled, and nothing is created.
func TestWalletDevOff(t *testing.T) {
	cleanEnv(t)
	t.Setenv("MINIFN_WALLET", "")
	base, d := startDev(t, t.TempDir())
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	code, _ := mintCode(t, base, "alice")
	alice := login(t, base, code).str("token")
	for _, r := range []struct{ method, path, token, body string }{
		{"GET", "/wallet", alice, ""}, {"POST", "/wallet/topup", alice, `{"plan_id":"x"}`},
		{"GET", "/topup-plans", alice, ""}, {"POST", "/topup-plans", s.admin, `{"amount":1000,"bonus":0}`},
		{"GET", "/wallets/someone", s.admin, ""}, {"POST", "/wallets/someone/adjust", s.admin, `{"amount":5,"reason":"x"}`},
		{"GET", "/wallet/topups", alice, ""}, {"POST", "/wallet/topups/wt1/refund", s.admin, `{}`},
	} {
		wantError(t, r.method+" "+r.path+" with the wallet off", s.call(t, r.method, r.path, r.token, r.body), 404, "wallet_disabled")
	}
	if a := s.call(t, "POST", "/products", s.admin, `{"sku":"latte","title":"Latte","price":2800,"stock":10}`); a.status != 201 {
		t.Fatalf("product: %d %s", a.status, a.raw)
	}
	wantError(t, "an order with use_balance, the wallet off", s.call(t, "POST", "/orders", alice, `{"items":[{"sku":"latte","quantity":1}],"use_balance":true}`), 404, "wallet_disabled")
}

// TestWalletPaysOrderDev: through `minifn dev`, an order with
// "use_balance" takes what the balance covers and prepays the rest at the
// Pay emulator; its notify makes it paid; a second order the balance
// covers is paid at once (no payment); refunds return WeChat Pay's part
// first, then the balance's; a cancelled order gives the balance back; the
// ledger sums to the balance after each step.
func TestWalletPaysOrderDev(t *testing.T) {
	cleanEnv(t)
	t.Setenv("MINIFN_WALLET", "on")
	base, d := startDev(t, t.TempDir())
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	code, openid := mintCode(t, base, "alice")
	alice := login(t, base, code).str("token")
	if a := s.call(t, "POST", "/products", s.admin, `{"sku":"latte","title":"Latte","price":2800,"stock":10}`); a.status != 201 {
		t.Fatalf("product: %d %s", a.status, a.raw)
	}
	balance := func(want float64) {
		t.Helper()
		a := s.call(t, "GET", "/wallet", alice, "")
		var sum float64
		for _, e := range a.body["ledger"].([]any) {
			sum += e.(map[string]any)["amount"].(float64)
		}
		if a.status != 200 || a.body["balance"] != want || sum != want {
			t.Fatalf("wallet: %s; want %v, the ledger summing to it", a.raw, want)
		}
	}
	if a := s.call(t, "POST", "/wallets/"+openid+"/adjust", s.admin, `{"amount":4000,"reason":"gift"}`); a.status != 201 {
		t.Fatalf("adjust: %d %s", a.status, a.raw)
	}
	// 4000 covers the first latte (2800) and 1200 of the second.
	a := s.call(t, "POST", "/orders", alice, `{"items":[{"sku":"latte","quantity":1}],"use_balance":true}`)
	o := a.body["order"].(map[string]any)
	if a.status != 201 || o["status"] != "paid" || o["paid_by_balance"] != float64(2800) || o["pay_total"] != float64(0) || a.body["payment"] != nil {
		t.Fatalf("order paid by the balance: %d %s", a.status, a.raw)
	}
	full := o["id"].(string)
	balance(1200)
	a = s.call(t, "POST", "/orders", alice, `{"items":[{"sku":"latte","quantity":1}],"use_balance":true}`)
	o = a.body["order"].(map[string]any)
	if a.status != 201 || o["status"] != "pending" || o["paid_by_balance"] != float64(1200) || o["pay_total"] != float64(1600) || a.body["payment"] == nil {
		t.Fatalf("order paid partly by the balance: %d %s", a.status, a.raw)
	}
	part := o["id"].(string)
	balance(0)
	if a := post(t, base+"/_emulator/pay/"+part, ""); a.status != 200 {
		t.Fatalf("pay: %d %s", a.status, a.raw)
	}
	waitNotifies(t, base, part, "TRANSACTION.SUCCESS")
	if a := s.call(t, "GET", "/orders/"+part, alice, ""); a.body["order"].(map[string]any)["status"] != "paid" {
		t.Fatalf("after the notify: %s", a.raw)
	}
	// The refund of the partly paid order: WeChat Pay's 1600 first, then 400 of the balance.
	a = s.call(t, "POST", "/orders/"+part+"/refund", s.admin, `{"amount":2000,"reason":"sorry"}`)
	if a.status != 200 {
		t.Fatalf("refund: %d %s", a.status, a.raw)
	}
	waitNotifies(t, base, part, "REFUND.SUCCESS")
	if a := s.call(t, "GET", "/orders/"+part, alice, ""); a.body["order"].(map[string]any)["refunded"] != float64(2000) {
		t.Fatalf("after the refund notify: %s", a.raw)
	}
	balance(400)
	// The refund of the order the balance paid: back to the wallet at once.
	a = s.call(t, "POST", "/orders/"+full+"/refund", s.admin, `{"reason":"sorry"}`)
	if a.status != 200 || a.body["order"].(map[string]any)["status"] != "refunded" {
		t.Fatalf("refund of the balance order: %d %s", a.status, a.raw)
	}
	balance(3200)
	// Cancelled: the balance comes back.
	a = s.call(t, "POST", "/orders", alice, `{"items":[{"sku":"latte","quantity":2}],"use_balance":true}`)
	c := a.body["order"].(map[string]any)
	if a.status != 201 || c["paid_by_balance"] != float64(3200) {
		t.Fatalf("third order: %d %s", a.status, a.raw)
	}
	balance(0)
	if a := s.call(t, "POST", "/orders/"+c["id"].(string)+"/cancel", alice, ""); a.status != 200 {
		t.Fatalf("cancel: %d %s", a.status, a.raw)
	}
	balance(3200)
}
