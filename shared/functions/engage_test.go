package functions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/wechat/emulator"
)

// codeContent is what an emulator code of a release page encodes.
func codeContent(page, scene, env string) string {
	return emulator.WxacodeContent(engAppID, page, scene, env)
}

func TestQRCodeHTTP(t *testing.T) {
	engEach(t, func(t *testing.T, e *engEnv) {
		alice := e.login("alice", nil)
		page := "pages/index/index"
		share := map[string]any{"page": page, "params": map[string]string{"shop": "7"}}
		e.do("", "POST", "/qrcode", share).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		e.do("bad.token", "POST", "/qrcode", share).want(t, "bad token", http.StatusUnauthorized, "invalid_token")

		// A user's share code: the image as WeChat made it, the scene beside it.
		r := e.do(alice.token, "POST", "/qrcode", share)
		sc := r.header.Get("X-Minifn-Scene")
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" || sc == "" {
			t.Fatalf("share code: %d %v %.200s", r.status, r.header, r.body)
		}
		if got := qrText(t, r.body); got != codeContent(page, sc, "release") {
			t.Fatalf("decoded %q, want page %s and scene %s", got, page, sc)
		}
		// Asked again: from the cache, without calling WeChat.
		calls := e.wx.Calls(engWxaPath)
		if again := e.do(alice.token, "POST", "/qrcode", share); again.status != http.StatusOK ||
			again.header.Get("X-Minifn-Scene") != sc || string(again.body) != string(r.body) {
			t.Fatalf("repeat: %d %v", again.status, again.header)
		}
		if n := e.wx.Calls(engWxaPath); n != calls || n != 1 {
			t.Fatalf("WeChat called %d times, want 1", n)
		}

		// The scene is public: it names the referrer by an opaque id only.
		r = e.do("", "GET", "/scenes/"+url.PathEscape(sc), nil)
		m := r.json(t)
		params, _ := m["params"].(map[string]any)
		rid, _ := params["referrer"].(string)
		if r.status != http.StatusOK || m["page"] != page || params["shop"] != "7" || rid == "" {
			t.Fatalf("scene: %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), alice.openid) {
			t.Fatalf("the public scene shows the sharer's openid: %s", r.body)
		}
		e.do("", "GET", "/scenes/NOSUCHSCENE1", nil).want(t, "unknown scene", http.StatusNotFound, "scene_not_found")
		e.do("", "GET", "/scenes/"+url.PathEscape("bad scene"), nil).want(t, "bad scene", http.StatusNotFound, "scene_not_found")

		// Users make share codes of published pages only.
		e.do(alice.token, "POST", "/qrcode", map[string]any{"page": page, "env_version": "develop"}).
			want(t, "user develop code", http.StatusForbidden, "forbidden")

		// The admin makes any code; width and env_version reach WeChat.
		r = e.do(engAdmin, "POST", "/qrcode", map[string]any{"page": "pages/shop/index", "params": map[string]string{"shop": "9"},
			"width": 600, "env_version": "trial"})
		asc := r.header.Get("X-Minifn-Scene")
		if r.status != http.StatusOK || qrText(t, r.body) != codeContent("pages/shop/index", asc, "trial") {
			t.Fatalf("admin trial code: %d %.200s", r.status, r.body)
		}
		if got := e.do("", "GET", "/scenes/"+url.PathEscape(asc), nil).json(t); got["params"].(map[string]any)["referrer"] != nil {
			t.Fatalf("an admin code carries no referrer: %v", got)
		}

		// Bad requests name the field.
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"page": "pages/a/a", "width": 100}, "width"},
			{map[string]any{"page": "pages/a/a", "env_version": "beta"}, "env_version"},
			{map[string]any{"page": "/pages/a/a"}, "page"},
			{map[string]any{"page": "pages/a/a", "params": map[string]string{"bad key!": "x"}}, "params"},
			{`{"page":"pages/a/a","params":"x"}`, "params"},
			{`{"page":"pages/a/a","width":"wide"}`, "width"},
		} {
			e.do(engAdmin, "POST", "/qrcode", c.body).want(t, fmt.Sprint(c.body), http.StatusBadRequest, "invalid_request", c.field)
		}

		// WeChat's errors, mapped.
		e.do(engAdmin, "POST", "/qrcode", map[string]any{"page": "shop/index"}).
			want(t, "41030", http.StatusBadRequest, "invalid_page")
		for _, c := range []struct {
			errcode, status int
			code            string
		}{
			{40169, http.StatusBadRequest, "invalid_scene"},
			{45009, http.StatusTooManyRequests, "wechat_quota"},
			{45063, http.StatusBadGateway, "wechat_no_permission"},
			{-1, http.StatusBadGateway, "wechat_unavailable"},
		} {
			e.wx.Fail(engWxaPath, 1, c.errcode)
			r := e.do(engAdmin, "POST", "/qrcode", map[string]any{"page": "pages/err/index"})
			r.want(t, fmt.Sprint(c.errcode), c.status, c.code)
			if c.errcode == 45009 && r.header.Get("Retry-After") == "" {
				t.Error("45009 without Retry-After")
			}
		}

		// MINIFN_QRCODE_USER_LIMIT=2: one more new share code, then 429;
		// codes made before still come from the cache.
		if r := e.do(alice.token, "POST", "/qrcode", map[string]any{"page": "pages/b/index"}); r.status != http.StatusOK {
			t.Fatalf("second share code: %d %s", r.status, r.body)
		}
		r = e.do(alice.token, "POST", "/qrcode", map[string]any{"page": "pages/c/index"})
		r.want(t, "third share code", http.StatusTooManyRequests, "rate_limited")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		if r := e.do(alice.token, "POST", "/qrcode", share); r.status != http.StatusOK {
			t.Fatalf("a cached code over the limit: %d %s", r.status, r.body)
		}

		// Bob opens alice's code: login takes the scene, and the referrer
		// from its params. /me shows the opaque id, never alice's openid.
		bob := e.login("bob", map[string]any{"scene": sc})
		me := e.do(bob.token, "GET", "/me", nil)
		u, _ := me.json(t)["user"].(map[string]any)
		if me.status != http.StatusOK || u["scene"] != sc || u["referrer"] != rid || strings.Contains(string(me.body), alice.openid) {
			t.Fatalf("bob's /me: %d %s", me.status, me.body)
		}
		// Carol sends the referrer id alone (a share path); Dave sends a
		// raw openid, which no longer counts.
		e.login("carol", map[string]any{"referrer": rid})
		dave := e.login("dave", map[string]any{"referrer": alice.openid})
		if u := e.do(dave.token, "GET", "/me", nil).json(t)["user"].(map[string]any); u["referrer"] != nil {
			t.Fatalf("a raw openid was kept as referrer: %v", u)
		}

		// The admin's summary shows the openid behind the referrer id.
		e.do("", "GET", "/attribution", nil).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		e.do(alice.token, "GET", "/attribution", nil).want(t, "user", http.StatusForbidden, "forbidden")
		r = e.do(engAdmin, "GET", "/attribution", nil)
		var sum struct {
			ByScene []struct {
				Scene, Page string
				Users       int64
			} `json:"by_scene"`
			ByReferrer []struct {
				Referrer string
				Users    int64
			} `json:"by_referrer"`
		}
		decodeJSON(t, r, &sum)
		if len(sum.ByScene) != 1 || sum.ByScene[0].Scene != sc || sum.ByScene[0].Page != page || sum.ByScene[0].Users != 1 {
			t.Errorf("by scene: %s", r.body)
		}
		if len(sum.ByReferrer) != 1 || sum.ByReferrer[0].Referrer != alice.openid || sum.ByReferrer[0].Users != 2 {
			t.Errorf("by referrer: %s", r.body)
		}
	})
}

func TestPointsHTTP(t *testing.T) {
	engEach(t, func(t *testing.T, e *engEnv) {
		alice, bob := e.login("alice", nil), e.login("bob", nil)
		mint := map[string]any{"points": 50, "count": 3}
		e.do("", "POST", "/points/codes", mint).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		e.do(alice.token, "POST", "/points/codes", mint).want(t, "user mints", http.StatusForbidden, "forbidden")
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"points": 0, "count": 1}, "points"},
			{map[string]any{"points": 10, "count": 0}, "count"},
			{map[string]any{"points": 10, "count": 1001}, "count"},
			{`{"points":"ten","count":1}`, "points"},
		} {
			e.do(engAdmin, "POST", "/points/codes", c.body).want(t, fmt.Sprint(c.body), http.StatusBadRequest, "invalid_request", c.field)
		}
		r := e.do(engAdmin, "POST", "/points/codes", mint)
		var minted struct{ Codes []string }
		decodeJSON(t, r, &minted)
		if r.status != http.StatusCreated || len(minted.Codes) != 3 {
			t.Fatalf("mint: %d %s", r.status, r.body)
		}
		code := minted.Codes[0]

		// Each code as a PNG QR code, for printing.
		r = e.do(engAdmin, "GET", "/points/codes/"+code+"/qr", nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" || qrText(t, r.body) != code ||
			r.header.Get("X-Minifn-Points") != "50" || r.header.Get("X-Minifn-Used") != "false" {
			t.Fatalf("code QR: %d %v", r.status, r.header)
		}
		e.do(alice.token, "GET", "/points/codes/"+code+"/qr", nil).want(t, "user QR", http.StatusForbidden, "forbidden")
		e.do(engAdmin, "GET", "/points/codes/0000000000000000/qr", nil).want(t, "unminted QR", http.StatusNotFound, "code_not_found")

		// Rewards (admin), listed to users and the admin.
		rw := map[string]any{"title": "Tea", "points": 60, "stock": 1}
		e.do(alice.token, "POST", "/rewards", rw).want(t, "user reward", http.StatusForbidden, "forbidden")
		e.do(engAdmin, "POST", "/rewards", map[string]any{"title": "", "points": 60, "stock": 1}).
			want(t, "no title", http.StatusBadRequest, "invalid_request", "title")
		e.do(engAdmin, "POST", "/rewards", map[string]any{"title": "x", "points": 60, "stock": -1}).
			want(t, "negative stock", http.StatusBadRequest, "invalid_request", "stock")
		tea := e.reward(rw)
		soldOut := e.reward(map[string]any{"title": "Cup", "points": 10, "stock": 0})
		dear := e.reward(map[string]any{"title": "Teapot", "points": 1000, "stock": 5})
		e.do("", "GET", "/rewards", nil).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		for _, tok := range []string{alice.token, engAdmin} {
			var list struct {
				Rewards []struct {
					ID    string
					Stock int64
				}
			}
			r := e.do(tok, "GET", "/rewards", nil)
			decodeJSON(t, r, &list)
			if r.status != http.StatusOK || len(list.Rewards) != 3 {
				t.Fatalf("rewards: %d %s", r.status, r.body)
			}
		}

		// Scans: once per code ever.
		e.do(alice.token, "POST", "/points/scan", map[string]any{}).want(t, "no code", http.StatusBadRequest, "invalid_request", "code")
		e.do(alice.token, "POST", "/points/scan", map[string]any{"code": "ZZZZZZZZZZZZZZZZ"}).want(t, "unminted", http.StatusNotFound, "code_not_found")
		e.wantJSON(e.do(alice.token, "POST", "/points/scan", map[string]any{"code": strings.ToLower(code)}), http.StatusOK, `{"earned":50,"balance":50}`)
		e.do(alice.token, "POST", "/points/scan", map[string]any{"code": code}).want(t, "again", http.StatusConflict, "already_used")
		e.do(bob.token, "POST", "/points/scan", map[string]any{"code": code}).want(t, "bob", http.StatusConflict, "already_used")
		if r := e.do(engAdmin, "GET", "/points/codes/"+code+"/qr", nil); r.header.Get("X-Minifn-Used") != "true" {
			t.Errorf("a used code's QR says used=%s", r.header.Get("X-Minifn-Used"))
		}
		// A retried scan with its Idempotency-Key gets the first answer.
		for i := range 2 {
			r := e.do(alice.token, "POST", "/points/scan", map[string]any{"code": minted.Codes[1]}, "Idempotency-Key", "scan-2")
			e.wantJSON(r, http.StatusOK, `{"earned":50,"balance":100}`)
			if replayed := r.header.Get("Idempotent-Replayed") == "true"; replayed != (i == 1) {
				t.Fatalf("scan %d: replayed %v", i, replayed)
			}
		}

		// Redemptions: the balance and the stock never go below zero. (The
		// clock moves on: the ledger is newest first to the millisecond.)
		e.clock.Advance(time.Second)
		e.do(alice.token, "POST", "/points/redeem", map[string]any{}).want(t, "no reward", http.StatusBadRequest, "invalid_request", "reward_id")
		e.do(alice.token, "POST", "/points/redeem", map[string]any{"reward_id": "rwnosuch"}).want(t, "unknown", http.StatusNotFound, "reward_not_found")
		e.do(alice.token, "POST", "/points/redeem", map[string]any{"reward_id": dear}).want(t, "dear", http.StatusConflict, "insufficient_points")
		e.do(alice.token, "POST", "/points/redeem", map[string]any{"reward_id": soldOut}).want(t, "sold out", http.StatusConflict, "out_of_stock")
		var first string
		for i := range 2 {
			r := e.do(alice.token, "POST", "/points/redeem", map[string]any{"reward_id": tea}, "Idempotency-Key", "redeem-1")
			var out struct {
				Redemption struct {
					ID       string
					RewardID string `json:"reward_id"`
					Points   int64
				}
				Balance int64
			}
			decodeJSON(t, r, &out)
			if r.status != http.StatusCreated || out.Balance != 40 || out.Redemption.Points != 60 {
				t.Fatalf("redeem %d: %d %s", i, r.status, r.body)
			}
			if i == 0 {
				first = string(r.body)
			} else if string(r.body) != first || r.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay %s, first %s", r.body, first)
			}
		}
		e.do(alice.token, "POST", "/points/redeem", map[string]any{"reward_id": tea}).want(t, "stock gone", http.StatusConflict, "out_of_stock")

		// Balance and ledger: the ledger sums to the balance.
		e.do("", "GET", "/points", nil).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		r = e.do(alice.token, "GET", "/points", nil)
		var bal struct {
			Balance int64
			Ledger  []struct {
				Delta  int64
				Reason string
			}
		}
		decodeJSON(t, r, &bal)
		sum := int64(0)
		for _, l := range bal.Ledger {
			sum += l.Delta
		}
		if r.status != http.StatusOK || bal.Balance != 40 || len(bal.Ledger) != 3 || sum != 40 || bal.Ledger[0].Reason != "redeem" {
			t.Fatalf("points: %d %s", r.status, r.body)
		}

		// Many users scan one code at once: one earns it.
		last := minted.Codes[2]
		var wg sync.WaitGroup
		status := make(chan int, 12)
		for i := range cap(status) {
			u := e.login(fmt.Sprintf("scanner-%d", i), nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				status <- e.do(u.token, "POST", "/points/scan", map[string]any{"code": last}).status
			}()
		}
		wg.Wait()
		close(status)
		won := 0
		for s := range status {
			switch s {
			case http.StatusOK:
				won++
			case http.StatusConflict:
			default:
				t.Errorf("concurrent scan: %d", s)
			}
		}
		if won != 1 {
			t.Fatalf("%d scans earned the code, want 1", won)
		}
	})
}

func TestMePhoneAndSubscriptionsHTTP(t *testing.T) {
	engEach(t, func(t *testing.T, e *engEnv) {
		alice := e.login("alice", nil)
		code, phone := e.wx.MintPhoneCode(engAppID, "alice")
		e.do("", "POST", "/me/phone", map[string]any{"code": code}).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		e.do(alice.token, "POST", "/me/phone", map[string]any{}).want(t, "no code", http.StatusBadRequest, "invalid_request", "code")
		e.do(alice.token, "POST", "/me/phone", map[string]any{"code": "nosuchcode"}).want(t, "bad code", http.StatusBadRequest, "invalid_phone_code")
		bobCode, _ := e.wx.MintPhoneCode(engAppID, "bob")
		e.do(alice.token, "POST", "/me/phone", map[string]any{"code": bobCode}).want(t, "bob's code", http.StatusBadRequest, "invalid_phone_code")
		masked := phone[:3] + "****" + phone[7:]
		for _, r := range []engReply{
			e.do(alice.token, "POST", "/me/phone", map[string]any{"code": code}),
			e.do(alice.token, "GET", "/me", nil),
		} {
			u, _ := r.json(t)["user"].(map[string]any)
			if r.status != http.StatusOK || u["phone"] != masked || strings.Contains(string(r.body), phone) {
				t.Fatalf("phone: %d %s, want %s", r.status, r.body, masked)
			}
		}
		e.do(alice.token, "POST", "/me/phone", map[string]any{"code": code}).want(t, "used code", http.StatusBadRequest, "invalid_phone_code")

		// Subscriptions: wx.requestSubscribeMessage's answer as it came.
		report := map[string]any{"errMsg": "requestSubscribeMessage:ok", engTmpl: "accept", "OTHER_TMPL": "reject"}
		e.do("", "POST", "/me/subscriptions", report).want(t, "no token", http.StatusUnauthorized, "unauthenticated")
		for i := range 2 {
			r := e.do(alice.token, "POST", "/me/subscriptions", report, "Idempotency-Key", "sub-1")
			e.wantJSON(r, http.StatusOK, `{"credits":{"`+engTmpl+`":1,"OTHER_TMPL":0}}`)
			if replayed := r.header.Get("Idempotent-Replayed") == "true"; replayed != (i == 1) {
				t.Fatalf("report %d: replayed %v", i, replayed)
			}
		}
		e.wantJSON(e.do(alice.token, "POST", "/me/subscriptions", map[string]any{"results": map[string]string{engTmpl: "accept"}}),
			http.StatusOK, `{"credits":{"`+engTmpl+`":2}}`)
		for range 20 {
			e.do(alice.token, "POST", "/me/subscriptions", report)
		}
		e.wantJSON(e.do(alice.token, "POST", "/me/subscriptions", report), http.StatusOK, `{"credits":{"`+engTmpl+`":10,"OTHER_TMPL":0}}`)
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{engTmpl: "maybe"}, engTmpl},
			{map[string]any{engTmpl: 1}, engTmpl},
			{map[string]any{"results": "x"}, "results"},
			{map[string]any{"errMsg": "requestSubscribeMessage:ok"}, "results"},
		} {
			e.do(alice.token, "POST", "/me/subscriptions", c.body).want(t, fmt.Sprint(c.body), http.StatusBadRequest, "invalid_request", c.field)
		}
	})
}

// TestPaidOrderHTTP follows an order from a shared code to its payment: the
// notify arrives three times, and points, attribution and the subscribe
// message each happen once.
func TestPaidOrderHTTP(t *testing.T) {
	engEach(t, func(t *testing.T, e *engEnv) {
		alice := e.login("alice", nil)
		sc := e.do(alice.token, "POST", "/qrcode", map[string]any{"page": "pages/index/index"}).header.Get("X-Minifn-Scene")
		params := e.do("", "GET", "/scenes/"+url.PathEscape(sc), nil).json(t)["params"].(map[string]any)
		bob := e.login("bob", map[string]any{"scene": sc})
		e.wx.Accept(engAppID, bob.openid, engTmpl, 1)
		e.do(bob.token, "POST", "/me/subscriptions", map[string]any{engTmpl: "accept"}, "Idempotency-Key", "s1")
		if r := e.do(engAdmin, "POST", "/products", map[string]any{"sku": "tea", "title": "龙井", "price": 1990}); r.status != http.StatusCreated {
			t.Fatalf("product: %d %s", r.status, r.body)
		}
		r := e.do(bob.token, "POST", "/orders", map[string]any{"items": []map[string]any{{"sku": "tea", "quantity": 3}},
			"scene": sc, "referrer": params["referrer"]}, "Idempotency-Key", "o1")
		var created struct {
			Order struct {
				ID         string
				OutTradeNo string `json:"out_trade_no"`
				Total      int64
			}
		}
		decodeJSON(t, r, &created)
		if r.status != http.StatusCreated || created.Order.Total != 5970 {
			t.Fatalf("order: %d %s", r.status, r.body)
		}
		no := created.Order.OutTradeNo
		if err := e.pay.Pay(context.Background(), no); err != nil {
			t.Fatal(err)
		}
		first := e.waitNotifies(no, 1)
		for range 2 {
			if err := e.pay.Resend(first[0].ID, ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range e.waitNotifies(no, 3) {
			if !d.Delivered {
				t.Fatalf("a notify was refused: %+v", d)
			}
		}
		// 59.70 yuan at MINIFN_POINTS_PER_YUAN=2: 119 points, once.
		var pts struct {
			Balance int64
			Ledger  []struct{ Reason string }
		}
		decodeJSON(t, e.do(bob.token, "GET", "/points", nil), &pts)
		if pts.Balance != 119 || len(pts.Ledger) != 1 || pts.Ledger[0].Reason != "order" {
			t.Fatalf("points after three notifies: %+v", pts)
		}
		if msgs := e.wx.Sent(bob.openid); len(msgs) != 1 || msgs[0].TemplateID != engTmpl || msgs[0].Data["amount2"] != "59.70" {
			t.Fatalf("subscribe messages after three notifies: %+v", msgs)
		}
		var sum struct {
			ByScene []struct {
				Scene      string
				PaidOrders int64 `json:"paid_orders"`
				PaidTotal  int64 `json:"paid_total"`
			} `json:"by_scene"`
			ByReferrer []struct {
				Referrer   string
				PaidOrders int64 `json:"paid_orders"`
				PaidTotal  int64 `json:"paid_total"`
			} `json:"by_referrer"`
		}
		decodeJSON(t, e.do(engAdmin, "GET", "/attribution", nil), &sum)
		if len(sum.ByScene) != 1 || sum.ByScene[0].PaidOrders != 1 || sum.ByScene[0].PaidTotal != 5970 ||
			len(sum.ByReferrer) != 1 || sum.ByReferrer[0].Referrer != alice.openid || sum.ByReferrer[0].PaidTotal != 5970 {
			t.Fatalf("attribution after three notifies: %+v", sum)
		}
	})
}
