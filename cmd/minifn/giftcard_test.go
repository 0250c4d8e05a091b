package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestGiftCardDev drives gift cards through `minifn dev` and the Pay
// emulator: alice buys a card, pays it at the emulator; its notify
// (delivered three times, through the one pay-notify route) makes it paid
// once and credits no wallet; she sends it; she cannot claim it herself;
// bob and carol claim it at once: one wins, the value is in one wallet
// once; her take-back after the claim is refused; a second card is taken
// back into her wallet and its token then claims nothing.
func TestGiftCardDev(t *testing.T) {
	cleanEnv(t)
	t.Setenv("MINIFN_WALLET", "on")
	base, d := startDev(t, t.TempDir())
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	users := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol"} {
		code, _ := mintCode(t, base, u)
		users[u] = login(t, base, code).str("token")
	}
	alice := users["alice"]
	wantError(t, "a card of 0 fen", s.call(t, "POST", "/giftcards", alice, `{"amount":0}`), 400, "invalid_request")
	buy := func(amount string) string {
		a := s.call(t, "POST", "/giftcards", alice, `{"amount":`+amount+`,"message":"生日快乐"}`)
		if a.status != 201 {
			t.Fatalf("buy: %d %s", a.status, a.raw)
		}
		gc := a.body["giftcard"].(map[string]any)
		no, _ := gc["out_trade_no"].(string)
		if !strings.HasPrefix(no, "gc") || gc["status"] != "pending" || a.body["payment"].(map[string]any)["paySign"] == "" {
			t.Fatalf("card answer: %s", a.raw)
		}
		wantError(t, "sending an unpaid card", s.call(t, "POST", "/giftcards/"+no+"/send", alice, ""), 409, "giftcard_not_paid")
		if a := post(t, base+"/_emulator/pay/"+no, ""); a.status != 200 {
			t.Fatalf("pay: %d %s", a.status, a.raw)
		}
		return no
	}
	no := buy("3000")
	first := waitNotifies(t, base, no, "TRANSACTION.SUCCESS")
	for range 2 {
		if a := s.call(t, "POST", "/_emulator/notifies/"+first[0]["id"].(string)+"/resend", "", ""); a.status >= 300 {
			t.Fatalf("resend: %d %s", a.status, a.raw)
		}
	}
	if n := waitNotifies(t, base, no, "TRANSACTION.SUCCESS"); len(n) != 3 {
		t.Fatalf("deliveries: %v", n)
	}
	if a := s.call(t, "GET", "/giftcards/"+no, alice, ""); a.body["giftcard"].(map[string]any)["status"] != "paid" {
		t.Fatalf("card after the notify: %s", a.raw)
	}
	if a := s.call(t, "GET", "/wallet", alice, ""); a.body["balance"] != float64(0) {
		t.Fatalf("alice's wallet after buying: %s; want 0 (the value is in the card)", a.raw)
	}
	wantError(t, "bob sends alice's card", s.call(t, "POST", "/giftcards/"+no+"/send", users["bob"], ""), 404, "giftcard_not_found")
	a := s.call(t, "POST", "/giftcards/"+no+"/send", alice, "")
	token, _ := a.body["token"].(string)
	if a.status != 200 || len(token) != 32 {
		t.Fatalf("send: %d %s", a.status, a.raw)
	}
	wantError(t, "alice claims her own card", s.call(t, "POST", "/giftcards/claim", alice, `{"token":"`+token+`"}`), 403, "own_giftcard")
	wantError(t, "a claim without a token", s.call(t, "POST", "/giftcards/claim", users["bob"], `{}`), 400, "invalid_request")

	var wg sync.WaitGroup
	status := map[string]int{}
	var mu sync.Mutex
	for _, u := range []string{"bob", "carol"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := s.call(t, "POST", "/giftcards/claim", users[u], `{"token":"`+token+`"}`)
			mu.Lock()
			status[u] = a.status
			mu.Unlock()
		}()
	}
	wg.Wait()
	var total float64
	wins := 0
	for _, u := range []string{"bob", "carol"} {
		if status[u] == 200 {
			wins++
		} else if status[u] != 409 {
			t.Errorf("%s's claim: %d", u, status[u])
		}
		a := s.call(t, "GET", "/wallet", users[u], "")
		total += a.body["balance"].(float64)
	}
	if wins != 1 || total != 3000 {
		t.Fatalf("claims %v, wallets hold %v; want one winner holding 3000", status, total)
	}
	wantError(t, "take-back after the claim", s.call(t, "POST", "/giftcards/"+no+"/revoke", alice, ""), 409, "giftcard_claimed")

	no2 := buy("800")
	waitNotifies(t, base, no2, "TRANSACTION.SUCCESS")
	token2 := s.call(t, "POST", "/giftcards/"+no2+"/send", alice, "").body["token"].(string)
	if a := s.call(t, "POST", "/giftcards/"+no2+"/revoke", alice, ""); a.status != 200 || a.body["giftcard"].(map[string]any)["status"] != "revoked" {
		t.Fatalf("revoke: %d %s", a.status, a.raw)
	}
	wantError(t, "a claim after the take-back", s.call(t, "POST", "/giftcards/claim", users["bob"], `{"token":"`+token2+`"}`), 409, "giftcard_revoked")
	wantError(t, "a second claim of the claimed card", s.call(t, "POST", "/giftcards/claim", users["carol"], `{"token":"`+token+`"}`), 409, "giftcard_claimed")
	if a := s.call(t, "GET", "/wallet", alice, ""); a.body["balance"] != float64(800) || a.body["principal"] != float64(800) {
		t.Fatalf("alice's wallet after the take-back: %s; want 800 of principal", a.raw)
	}
	if a := s.call(t, "GET", "/giftcards", alice, ""); a.status != 200 || len(a.body["giftcards"].([]any)) != 2 {
		t.Fatalf("alice's cards: %s", a.raw)
	}

	// The merchant's list of sales: admin only, every user's, with buyer
	// and claimer, filtered by status.
	for _, q := range []string{"?all=1", "?status=claimed"} {
		wantError(t, "a user's GET /giftcards"+q, s.call(t, "GET", "/giftcards"+q, alice, ""), 403, "forbidden")
	}
	wantError(t, "an unknown status", s.call(t, "GET", "/giftcards?all=1&status=shipped", s.admin, ""), 400, "invalid_request")
	wantError(t, "a bad limit", s.call(t, "GET", "/giftcards?all=1&limit=0", s.admin, ""), 400, "invalid_request")
	carol := s.call(t, "POST", "/giftcards", users["carol"], `{"amount":500}`) // pending, another buyer
	if carol.status != 201 {
		t.Fatalf("carol buys: %d %s", carol.status, carol.raw)
	}
	var sales []string
	for q := "?all=1&limit=2"; ; {
		a := s.call(t, "GET", "/giftcards"+q, s.admin, "")
		if a.status != 200 {
			t.Fatalf("admin list: %d %s", a.status, a.raw)
		}
		for _, g := range a.body["giftcards"].([]any) {
			g := g.(map[string]any)
			sales = append(sales, fmt.Sprintf("%s:%v:%v:%v", g["status"], g["amount"], g["buyer"] != "", g["claimer"] != nil))
		}
		next, _ := a.body["next"].(string)
		if next == "" {
			break
		}
		q = "?all=1&limit=2&after=" + next
	}
	if want := "[pending:500:true:false revoked:800:true:false claimed:3000:true:true]"; fmt.Sprint(sales) != want {
		t.Fatalf("admin's sales: %v; want %s", sales, want)
	}
	a = s.call(t, "GET", "/giftcards?all=1&status=claimed", s.admin, "")
	if l := a.body["giftcards"].([]any); len(l) != 1 || l[0].(map[string]any)["id"] != no || l[0].(map[string]any)["claimer"] == "" {
		t.Fatalf("claimed sales: %s", a.raw)
	}
}

// TestGiftCardDevOff: without MINIFN_WALLET=on every route answers 404
// wallet_disabled.
func TestGiftCardDevOff(t *testing.T) {
	cleanEnv(t)
	t.Setenv("MINIFN_WALLET", "")
	base, d := startDev(t, t.TempDir())
	s := &shop{base: base, d: d}
	code, _ := mintCode(t, base, "alice")
	alice := login(t, base, code).str("token")
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/giftcards", `{"amount":100}`}, {"GET", "/giftcards", ""}, {"POST", "/giftcards/claim", `{"token":"x"}`},
		{"POST", "/giftcards/gc1/send", ""}, {"POST", "/giftcards/gc1/revoke", ""}, {"GET", "/giftcards/gc1", ""},
	} {
		wantError(t, r.method+" "+r.path+" with the wallet off", s.call(t, r.method, r.path, alice, r.body), 404, "wallet_disabled")
	}
}
