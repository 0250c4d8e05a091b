package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/session"
)

// The abuse tests drive a real `minifn dev` (every function, the WeChat and
// Pay emulators, a bbolt file) over loopback HTTP, as an attacker would:
// bad tokens, admin routes without the admin token, one user at another's
// order and coupon, replayed and stale notifies, bad bodies, storms.

// shop is a dev server with a product, a campaign, and two logged-in users.
type shop struct {
	base, admin string
	d           *dev
	alice, bob  string // session tokens
	campaignID  string
}

func newShop(t *testing.T) *shop {
	t.Helper()
	return newShopWith(t, nil)
}

// newShopWith is newShop on a dev whose Config edit adjusts (startDevWith).
func newShopWith(t *testing.T, edit func(*app.Config)) *shop {
	t.Helper()
	cleanEnv(t)
	base, d := startDevWith(t, t.TempDir(), edit)
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	if a := s.call(t, "POST", "/products", s.admin, `{"sku":"latte","title":"Latte","price":2800,"stock":10}`); a.status != 201 {
		t.Fatalf("product: %d %s", a.status, a.raw)
	}
	a := s.call(t, "POST", "/campaigns", s.admin,
		`{"title":"5 off","discount":{"amount_off":500},"min_spend":1000,"stock":100,"per_user_limit":1,"valid_days":30}`)
	if a.status != 201 {
		t.Fatalf("campaign: %d %s", a.status, a.raw)
	}
	s.campaignID = a.body["campaign"].(map[string]any)["id"].(string)
	s.alice, s.bob = s.login(t, "alice"), s.login(t, "bob")
	return s
}

func (s *shop) login(t *testing.T, user string) string {
	t.Helper()
	code, _ := mintCode(t, s.base, user)
	a := login(t, s.base, code)
	if a.status != 200 {
		t.Fatalf("login %s: %d %s", user, a.status, a.raw)
	}
	return a.str("token")
}

// call sends a JSON request (with a fresh Idempotency-Key when it has a
// body) and decodes the answer.
func (s *shop) call(t *testing.T, method, path, token, body string) answer {
	t.Helper()
	key := ""
	if body != "" {
		key = fmt.Sprintf("k%d", time.Now().UnixNano())
	}
	a, _ := s.callKey(t, method, path, token, key, body)
	return a
}

func (s *shop) claim(t *testing.T, token string) string {
	t.Helper()
	a := s.call(t, "POST", "/coupons/claim", token, `{"campaign_id":"`+s.campaignID+`"}`)
	if a.status != 201 {
		t.Fatalf("claim: %d %s", a.status, a.raw)
	}
	return a.body["coupon"].(map[string]any)["id"].(string)
}

// order places an order for token (with coupon, if not "") and returns it.
func (s *shop) order(t *testing.T, token, coupon string) map[string]any {
	t.Helper()
	body := `{"items":[{"sku":"latte","quantity":2}]}`
	if coupon != "" {
		body = `{"items":[{"sku":"latte","quantity":2}],"coupon_id":"` + coupon + `"}`
	}
	a := s.call(t, "POST", "/orders", token, body)
	if a.status != 201 {
		t.Fatalf("order: %d %s", a.status, a.raw)
	}
	return a.body["order"].(map[string]any)
}

func wantError(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || (code != "" && a.code() != code) {
		t.Errorf("%s: %d %s; want %d %s", what, a.status, strings.TrimSpace(a.raw), status, code)
	}
}

func TestAbuseTokens(t *testing.T) {
	s := newShop(t)
	secret := []byte(s.d.App.Config.SessionSecret)
	expired, _ := session.New(secret, time.Minute, "", func() time.Time { return time.Now().Add(-2 * time.Minute) }).Issue("alice-openid")
	wrongKey, _ := session.New(bytes.Repeat([]byte("w"), 32), time.Hour, "", nil).Issue("alice-openid")
	// A forged token: alice's body with the openid changed, her signature kept.
	body, mac, _ := strings.Cut(s.alice, ".")
	forged := body[:len(body)-2] + "AA." + mac
	tokens := map[string]string{
		"garbage": "not-a-token", "truncated": s.alice[:len(s.alice)-5], "forged": forged,
		"expired": expired, "wrong key": wrongKey, "signature only": "." + mac,
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/me", ""}, {"GET", "/orders", ""}, {"GET", "/coupons", ""}, {"GET", "/points", ""},
		{"POST", "/coupons/claim", `{"campaign_id":"` + s.campaignID + `"}`},
		{"POST", "/orders", `{"items":[{"sku":"latte","quantity":1}]}`},
	}
	for _, r := range routes {
		wantError(t, r.method+" "+r.path+" without a token", s.call(t, r.method, r.path, "", r.body), 401, "unauthenticated")
		for name, tok := range tokens {
			wantError(t, r.method+" "+r.path+" with a "+name+" token", s.call(t, r.method, r.path, tok, r.body), 401, "invalid_token")
		}
	}
	// Nothing was claimed or ordered by the refused requests.
	if a := s.call(t, "GET", "/campaigns/"+s.campaignID, "", ""); a.status != 200 ||
		a.body["campaign"].(map[string]any)["remaining"] != float64(100) {
		t.Errorf("campaign after refused claims: %d %s", a.status, a.raw)
	}
}

func TestAbuseAdminRoutes(t *testing.T) {
	s := newShop(t)
	routes := []struct{ method, path, body string }{
		{"POST", "/products", `{"sku":"evil","title":"Free","price":1}`},
		{"POST", "/campaigns", `{"title":"all free","discount":{"amount_off":100000},"stock":1000000,"per_user_limit":1000}`},
		{"PUT", "/staff/bob-openid", ""}, {"DELETE", "/staff/bob-openid", ""},
		{"POST", "/orders/000000000000/refund", `{}`},
		{"POST", "/points/codes", `{"points":1000,"count":10}`},
		{"POST", "/rewards", `{"title":"x","points":1,"stock":1}`},
		{"GET", "/attribution", ""}, {"GET", "/stats", ""},
		{"POST", "/stores", `{"name":"Evil","address":"x","lat":31,"lng":121}`}, {"PUT", "/stores/0000000000000000", `{"status":"closed"}`},
	}
	for _, r := range routes {
		what := r.method + " " + r.path
		wantError(t, what+" without a token", s.call(t, r.method, r.path, "", r.body), 401, "")
		wantError(t, what+" with a wrong admin token", s.call(t, r.method, r.path, s.admin+"x", r.body), 403, "forbidden")
		wantError(t, what+" with a user token", s.call(t, r.method, r.path, s.alice, r.body), 403, "forbidden")
	}
	if a := s.call(t, "GET", "/products", "", ""); strings.Contains(a.raw, "evil") {
		t.Errorf("a refused product create left a product: %s", a.raw)
	}
	if a := s.call(t, "GET", "/stores", s.admin, ""); strings.Contains(a.raw, "Evil") {
		t.Errorf("a refused store create left a store: %s", a.raw)
	}
}

func TestAbuseOtherUsersThings(t *testing.T) {
	s := newShop(t)
	coupon := s.claim(t, s.alice)
	o := s.order(t, s.alice, "")
	id := o["id"].(string)

	wantError(t, "bob reads alice's order", s.call(t, "GET", "/orders/"+id, s.bob, ""), 404, "order_not_found")
	wantError(t, "bob cancels alice's order", s.call(t, "POST", "/orders/"+id+"/cancel", s.bob, `{}`), 404, "order_not_found")
	if a := s.call(t, "GET", "/orders", s.bob, ""); strings.Contains(a.raw, id) {
		t.Errorf("bob's order list shows alice's order: %s", a.raw)
	}
	wantError(t, "bob's QR of alice's coupon", s.call(t, "GET", "/coupons/"+coupon+"/qr", s.bob, ""), 404, "")
	a := s.call(t, "POST", "/orders", s.bob, `{"items":[{"sku":"latte","quantity":2}],"coupon_id":"`+coupon+`"}`)
	if a.status < 400 || a.status >= 500 {
		t.Errorf("bob orders with alice's coupon: %d %s; want a 4xx", a.status, a.raw)
	}
	// Nothing changed: alice's order is pending, her coupon usable.
	if a := s.call(t, "GET", "/orders/"+id, s.alice, ""); a.status != 200 || a.body["order"].(map[string]any)["status"] != "pending" {
		t.Errorf("alice's order after bob: %d %s", a.status, a.raw)
	}
	if a := s.call(t, "GET", "/coupons", s.alice, ""); !strings.Contains(a.raw, `"status":"usable"`) {
		t.Errorf("alice's coupon after bob: %s", a.raw)
	}
}

// TestAbuseNotify pays an order, then has the Pay emulator replay the
// notify as is, with a tampered signature, and signed 10 minutes ago: the
// replay is acknowledged and changes nothing (points once), the others are
// refused with 401.
func TestAbuseNotify(t *testing.T) {
	s := newShop(t)
	o := s.order(t, s.alice, "")
	no := o["out_trade_no"].(string)
	if a := post(t, s.base+"/_emulator/pay/"+no, ""); a.status != 200 {
		t.Fatalf("pay: %d %s", a.status, a.raw)
	}
	notifies := func() []map[string]any {
		var out []map[string]any
		for range 200 {
			a := do(t, "GET", s.base+"/_emulator/notifies", "", nil)
			out = nil
			done := true
			for _, n := range a.body["notifies"].([]any) {
				m := n.(map[string]any)
				out = append(out, m)
				done = done && m["done"] == true
			}
			if done && len(out) > 0 {
				return out
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("notifies never finished: %v", out)
		return nil
	}
	first := notifies()
	if len(first) != 1 || first[0]["delivered"] != true {
		t.Fatalf("first notify: %v", first)
	}
	points := s.call(t, "GET", "/points", s.alice, "").body["balance"]
	id := first[0]["id"].(string)
	for _, mode := range []string{"", "tampered", "stale"} {
		if a := s.call(t, "POST", "/_emulator/notifies/"+id+"/resend?mode="+mode, "", ""); a.status >= 300 {
			t.Fatalf("resend %q: %d %s", mode, a.status, a.raw)
		}
	}
	all := notifies()
	if len(all) != 4 {
		t.Fatalf("deliveries: %v", all)
	}
	for _, n := range all[1:] {
		attempts := n["attempts"].([]any)
		status := attempts[len(attempts)-1].(map[string]any)["status"]
		switch n["mode"] {
		case nil, "":
			if n["delivered"] != true {
				t.Errorf("a replayed notify was not acknowledged: %v", n)
			}
		default:
			if n["delivered"] == true || status != float64(401) {
				t.Errorf("a %v notify got %v; want 401", n["mode"], status)
			}
		}
	}
	a := s.call(t, "GET", "/orders/"+o["id"].(string), s.alice, "")
	if a.body["order"].(map[string]any)["status"] != "paid" {
		t.Errorf("order after replays: %s", a.raw)
	}
	if got := s.call(t, "GET", "/points", s.alice, "").body["balance"]; got != points {
		t.Errorf("points after replays %v; want %v (credited once)", got, points)
	}
}

func TestAbuseBodies(t *testing.T) {
	s := newShop(t)
	send := func(path, ctype string, body []byte) answer {
		req, _ := http.NewRequest("POST", s.base+path, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Authorization", "Bearer "+s.alice)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("b%d", time.Now().UnixNano()))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		a := answer{status: res.StatusCode, raw: string(raw)}
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Errorf("%s: answer is not JSON: %q", path, raw)
		}
		return a
	}
	big := append([]byte(`{"campaign_id":"`), bytes.Repeat([]byte("x"), 70<<10)...)
	big = append(big, `"}`...)
	wrongTypes := map[string]string{ // a field each route reads, with the wrong JSON type
		"/coupons/claim": `{"campaign_id":1}`, "/orders": `{"items":"x"}`, "/login": `{"code":[]}`,
		"/points/scan": `{"code":5}`, "/qrcode": `{"page":7}`, "/me/phone": `{"code":{}}`,
	}
	for path, wrongType := range wrongTypes {
		wantError(t, path+" oversized", send(path, "application/json", big), 413, "body_too_large")
		wantError(t, path+" garbage", send(path, "application/json", []byte("\x00\xff{{{not json")), 400, "invalid_request")
		wantError(t, path+" truncated", send(path, "application/json", []byte(`{"campaign_id":"x`)), 400, "invalid_request")
		wantError(t, path+" empty", send(path, "application/json", nil), 400, "invalid_request")
		wantError(t, path+" as a form", send(path, "application/x-www-form-urlencoded", []byte("a=b")), 415, "unsupported_media_type")
		wantError(t, path+" as text", send(path, "text/plain", []byte(`{}`)), 415, "unsupported_media_type")
		wantError(t, path+" wrong field types", send(path, "application/json", []byte(wrongType)), 400, "invalid_request")
	}
	// Pay notify bodies are checked by signature first: garbage is 401.
	if a := send("/pay/notify", "application/json", []byte("garbage")); a.status != 401 && a.status != 400 {
		t.Errorf("garbage notify: %d %s", a.status, a.raw)
	}
}
