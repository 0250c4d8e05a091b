package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/outlet"
)

// TestTablesDev drives table ordering through `minifn dev`: a store (made
// with package outlet: the stores function is another part of issue 18),
// its staff (PUT /staff/{openid} {"store_id"}), a table code (POST /qrcode,
// the WeChat emulator), GET /scenes/{scene}, a forged table refused, the
// order paid through the Pay emulator, the store's queue and serve.
func TestTablesDev(t *testing.T) {
	s := newShop(t)
	name, addr, lat, lng := "面馆", "上海市黄浦区南京东路 1 号", 31.2304, 121.4737
	st, _, err := outlet.New(s.d.App.Store, outlet.Options{}).Create(context.Background(),
		outlet.Edit{Name: &name, Address: &addr, Lat: &lat, Lng: &lng}, "")
	if err != nil {
		t.Fatal(err)
	}
	code, bobID := mintCode(t, s.base, "bob")
	if a := login(t, s.base, code); a.status != 200 {
		t.Fatalf("login bob: %d %s", a.status, a.raw)
	}
	if a := s.call(t, "PUT", "/staff/"+bobID, s.admin, `{"store_id":"`+st.ID+`"}`); a.status != 200 {
		t.Fatalf("grant staff: %d %s", a.status, a.raw)
	}

	qrcode := func(token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.base+"/qrcode", strings.NewReader(
			`{"page":"pages/table/index","params":{"store_id":"`+st.ID+`","table":"A3"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("X-Minifn-Scene")
	}
	if status, _ := qrcode(s.alice); status != http.StatusForbidden {
		t.Fatalf("a user's table code: %d", status)
	}
	status, sc := qrcode(s.bob)
	if status != 200 || sc == "" {
		t.Fatalf("staff's table code: %d %q", status, sc)
	}
	if a := s.call(t, "GET", "/scenes/"+sc, "", ""); a.status != 200 || a.body["params"].(map[string]any)["table"] != "A3" {
		t.Fatalf("GET /scenes: %d %s", a.status, a.raw)
	}

	body := `{"items":[{"sku":"latte","quantity":1}],"store_id":"` + st.ID + `","table":"B9","scene":"` + sc + `"}`
	wantError(t, "a forged table", s.call(t, "POST", "/orders", s.alice, body), 403, "table_not_verified")
	a := s.call(t, "POST", "/orders", s.alice, strings.Replace(body, "B9", "A3", 1))
	if a.status != 201 {
		t.Fatalf("table order: %d %s", a.status, a.raw)
	}
	o := a.body["order"].(map[string]any)
	id := o["id"].(string)
	if p := post(t, s.base+"/_emulator/pay/"+id, ""); p.status != 200 {
		t.Fatalf("pay: %d %s", p.status, p.raw)
	}
	var q []any
	for range 250 {
		a := s.call(t, "GET", "/stores/"+st.ID+"/queue", s.bob, "")
		if a.status != 200 {
			t.Fatalf("queue: %d %s", a.status, a.raw)
		}
		if q = a.body["queue"].([]any); len(q) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(q) != 1 || q[0].(map[string]any)["status"] != "new" || q[0].(map[string]any)["table"] != "A3" {
		t.Fatalf("queue after paid: %v", q)
	}
	wantError(t, "a user reads the queue", s.call(t, "GET", "/stores/"+st.ID+"/queue", s.alice, ""), 403, "not_staff")
	if a := s.call(t, "POST", "/orders/"+id+"/serve", s.bob, `{"status":"served"}`); a.status != 200 ||
		a.body["order"].(map[string]any)["table_status"] != "served" {
		t.Fatalf("serve: %d %s", a.status, a.raw)
	}
	wantError(t, "served twice", s.call(t, "POST", "/orders/"+id+"/serve", s.admin, `{"status":"served"}`), 409, "not_servable")
	if a := s.call(t, "GET", "/orders/"+id, s.alice, ""); a.body["order"].(map[string]any)["table_status"] != "served" {
		t.Fatalf("the diner's order: %s", a.raw)
	}
}
