package functions_test

import (
	"net/http"
	"strings"
	"testing"
)

const secPath = "/wxa/msg_sec_check"

// noteOrder posts an order of one tea with note and returns the answer.
func (e *engEnv) noteOrder(u engUser, note any, key string) engReply {
	e.t.Helper()
	body := map[string]any{"items": []map[string]any{{"sku": "tea", "quantity": 1}}}
	if note != nil {
		body["note"] = note
	}
	return e.do(u.token, "POST", "/orders", body, "Idempotency-Key", key)
}

// stock returns the tea's stock as GET /products shows it.
func (e *engEnv) stock() float64 {
	e.t.Helper()
	for _, p := range e.do(engAdmin, "GET", "/products", nil).json(e.t)["products"].([]any) {
		if p := p.(map[string]any); p["sku"] == "tea" {
			return p["stock"].(float64)
		}
	}
	e.t.Fatal("no tea in GET /products")
	return 0
}

func orderOf(t *testing.T, r engReply) map[string]any {
	t.Helper()
	o, ok := r.json(t)["order"].(map[string]any)
	if !ok {
		t.Fatalf("no order in %d %s", r.status, r.body)
	}
	return o
}

// TestOrderNoteHTTP: an order's note passes msgSecCheck v2 (scene 2) before
// the order is written: pass is stored, review is stored flagged, risky is
// 422 content_risky with no order and no stock taken, a note over 200
// characters is 400, and WeChat failing stores the note flagged unchecked.
func TestOrderNoteHTTP(t *testing.T) {
	engEach(t, func(t *testing.T, e *engEnv) {
		if r := e.do(engAdmin, "POST", "/products", map[string]any{"sku": "tea", "title": "龙井", "price": 1990, "stock": 10}); r.status != http.StatusCreated {
			t.Fatalf("product: %d %s", r.status, r.body)
		}
		// The words that make the emulator answer risky or review, set as a
		// developer would through its control API.
		r := e.do("", "PUT", "/_emulator/content-words", nil) // not on minifn: 404
		if r.status != http.StatusNotFound {
			t.Fatalf("control route on minifn: %d", r.status)
		}
		req, _ := http.NewRequest("PUT", e.emuURL+"/_emulator/content-words",
			strings.NewReader(`{"risky":["BadWord"],"review":["call me"]}`))
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("content-words: %v %v", res, err)
		}
		alice := e.login("alice", nil)

		// No note: no call.
		if r := e.noteOrder(alice, nil, "n0"); r.status != http.StatusCreated {
			t.Fatalf("no note: %d %s", r.status, r.body)
		}
		if n := e.wx.Calls(secPath); n != 0 {
			t.Fatalf("an order without a note made %d msg_sec_check calls", n)
		}

		// Pass: stored, not flagged, shown by GET /orders/{id}; sent with scene 2.
		pass := orderOf(t, e.noteOrder(alice, "少放糖，谢谢", "n1"))
		if pass["note"] != "少放糖，谢谢" || pass["note_review"] != nil {
			t.Fatalf("pass: %v", pass)
		}
		if got := orderOf(t, e.do(alice.token, "GET", "/orders/"+pass["id"].(string), nil)); got["note"] != "少放糖，谢谢" {
			t.Fatalf("GET /orders/{id}: %v", got)
		}
		if c := e.wx.LastTextCheck(); c.Scene != 2 || c.OpenID != alice.openid || c.Content != "少放糖，谢谢" {
			t.Fatalf("msg_sec_check sent %+v, want scene 2, alice, the note", c)
		}

		// Review: stored and flagged, for the buyer and in the admin's list.
		rev := orderOf(t, e.noteOrder(alice, "please CALL ME at the door", "n2"))
		if rev["note_review"] != true || rev["note_check"] != "review" {
			t.Fatalf("review: %v", rev)
		}
		var flagged bool
		for _, o := range e.do(engAdmin, "GET", "/orders", nil).json(t)["orders"].([]any) {
			if o := o.(map[string]any); o["id"] == rev["id"] {
				flagged = o["note_review"] == true && o["note"] == "please CALL ME at the door"
			}
		}
		if !flagged {
			t.Fatal("the admin's list does not show the review note flagged")
		}

		// Risky: 422, nothing created, stock unchanged; the key is not used up.
		stock := e.stock()
		before := len(e.do(alice.token, "GET", "/orders", nil).json(t)["orders"].([]any))
		e.noteOrder(alice, "a badword here", "n3").want(t, "risky note", http.StatusUnprocessableEntity, "content_risky")
		if after := len(e.do(alice.token, "GET", "/orders", nil).json(t)["orders"].([]any)); after != before {
			t.Fatalf("a risky note left %d orders, want %d", after, before)
		}
		if s := e.stock(); s != stock {
			t.Fatalf("a risky note moved stock %v → %v", stock, s)
		}
		if r := e.noteOrder(alice, "a fine note", "n3"); r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") == "true" {
			t.Fatalf("the key of a refused order, with another note: %d %s", r.status, r.body)
		}

		// A replay of a created order asks WeChat nothing.
		calls := e.wx.Calls(secPath)
		if r := e.noteOrder(alice, "少放糖，谢谢", "n1"); r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s", r.status, r.body)
		}
		if n := e.wx.Calls(secPath); n != calls {
			t.Fatalf("a replay made %d msg_sec_check calls", n-calls)
		}

		// Length counts characters: 200 CJK characters (600 bytes) pass, 201 do not.
		if r := e.noteOrder(alice, strings.Repeat("茶", 200), "n4"); r.status != http.StatusCreated {
			t.Fatalf("200 characters: %d %s", r.status, r.body)
		}
		calls = e.wx.Calls(secPath)
		e.noteOrder(alice, strings.Repeat("茶", 201), "n5").want(t, "201 characters", http.StatusBadRequest, "invalid_request", "note")
		e.noteOrder(alice, 42, "n6").want(t, "a number", http.StatusBadRequest, "invalid_request", "note")
		e.noteOrder(alice, "tab\there", "n7").want(t, "a control character", http.StatusBadRequest, "invalid_request", "note")
		if n := e.wx.Calls(secPath); n != calls {
			t.Fatalf("invalid notes made %d msg_sec_check calls", n-calls)
		}

		// WeChat unreachable, or the buyer not active in 2 h (61010): the
		// order is made and its note stored, flagged unchecked.
		for i, fault := range []string{`"http_status":503`, `"errcode":61010`} {
			setFault(t, e, `{"path":"`+secPath+`","count":1,`+fault+`}`)
			o := orderOf(t, e.noteOrder(alice, "badword unchecked", "n8"+string(rune('a'+i))))
			if o["note"] != "badword unchecked" || o["note_review"] != true || o["note_check"] != "unchecked" {
				t.Fatalf("%s: %v", fault, o)
			}
		}
	})
}
