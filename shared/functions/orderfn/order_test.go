package orderfn_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/store/storetest"
)

func ordEach(t *testing.T, f func(t *testing.T, e *orderfntest.Env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, orderfntest.New(t, b, ordertest.Options{})) })
	}
}

func ordMap(t *testing.T, v any, key string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)[key].(map[string]any)
	if !ok {
		t.Fatalf("no object %q in %v", key, v)
	}
	return m
}

// ordCreate places an order for user and returns it.
func ordCreate(t *testing.T, e *orderfntest.Env, user string, body any, key string) (order, payment map[string]any) {
	t.Helper()
	status, out, _ := e.Do(t, "POST", "/orders", user, body, "Idempotency-Key", key)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, out)
	}
	return ordMap(t, out, "order"), ordMap(t, out, "payment")
}

func ordGet(t *testing.T, e *orderfntest.Env, user, id string) map[string]any {
	t.Helper()
	status, out, _ := e.Do(t, "GET", "/orders/"+id, user, nil)
	if status != http.StatusOK {
		t.Fatalf("get %s: %d %v", id, status, out)
	}
	return ordMap(t, out, "order")
}

func ordWaitDone(t *testing.T, e *orderfntest.Env, id string, n int) emulator.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ds []emulator.Delivery
		for _, d := range e.Emulator.Notifies() {
			if d.ID == id {
				ds = append(ds, d)
			}
		}
		if len(ds) >= n && (ds[n-1].Delivered || ds[n-1].Done) {
			return ds[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d of notify %s not finished: %+v", n, id, ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ordTransaction is a TRANSACTION.SUCCESS resource as WeChat Pay sends it.
func ordTransaction(mchid, outTradeNo string, total int64, at time.Time) map[string]any {
	return map[string]any{
		"appid": ordertest.AppID, "mchid": mchid, "out_trade_no": outTradeNo,
		"transaction_id": "4200000000202401010000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": at.Format(time.RFC3339),
		"payer":  map[string]any{"openid": "u1"},
		"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
	}
}

// ordPostNotify posts a signed notify to /pay/notify and returns the status and body.
func ordPostNotify(t *testing.T, e *orderfntest.Env, mchid string, resource any, at time.Time) (int, map[string]any) {
	t.Helper()
	h, body, err := e.Emulator.SignedNotify(mchid, "TRANSACTION.SUCCESS", resource, at)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.Server.URL+"/pay/notify", bytes.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestProductsHTTP(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		p := map[string]any{"sku": "tea", "title": "龙井", "price": 1000, "stock": 5}
		if s, out, _ := e.Do(t, "POST", "/products", "u1", p); s != http.StatusForbidden {
			t.Fatalf("user create: %d %v", s, out)
		}
		if s, out, _ := e.Do(t, "POST", "/products", "admin", p, "Idempotency-Key", "p1"); s != http.StatusCreated {
			t.Fatalf("admin create: %d %v", s, out)
		}
		if s, _, h := e.Do(t, "POST", "/products", "admin", p, "Idempotency-Key", "p1"); s != http.StatusCreated || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %v", s, h)
		}
		p["price"] = 1200
		delete(p, "stock")
		if s, out, _ := e.Do(t, "POST", "/products", "admin", p); s != http.StatusOK {
			t.Fatalf("admin replace: %d %v", s, out)
		}
		for _, bad := range []map[string]any{
			{"sku": "new", "title": "x"}, // a create needs a price (a replace keeps it)
			{"sku": "tea", "title": "x", "price": 0},
			{"sku": "bad sku!", "title": "x", "price": 1},
			{"sku": "tea", "title": "x", "price": 1, "stock": -1},
		} {
			if s, out, _ := e.Do(t, "POST", "/products", "admin", bad); s != http.StatusBadRequest {
				t.Fatalf("%v: %d %v", bad, s, out)
			}
		}
		s, out, _ := e.Do(t, "GET", "/products", "", nil)
		list, _ := out["products"].([]any)
		if s != http.StatusOK || len(list) != 1 {
			t.Fatalf("list: %d %v", s, out)
		}
		got := list[0].(map[string]any)
		if got["price"] != 1200.0 || got["stock"] != 5.0 || got["active"] != true {
			t.Fatalf("product %v: want price 1200, stock kept at 5", got)
		}
	})
}

// TestOrderFlowHTTP is the whole flow through the emulator: create → pay →
// notify → paid; the duplicate, tampered and stale notifies; refunds.
func TestOrderFlowHTTP(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(5))
		// The client's prices are ignored.
		body := map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 2, "price": 1}}, "total": 1}
		o, p := ordCreate(t, e, "u1", body, "create-1")
		id := o["id"].(string)
		if o["total"] != 2000.0 || o["status"] != "pending" || o["out_trade_no"] != id {
			t.Fatalf("order %v", o)
		}
		ordCheckPaySign(t, p)
		if _, _, h := e.Do(t, "POST", "/orders", "u1", body, "Idempotency-Key", "create-1"); h.Get("Idempotent-Replayed") != "true" {
			t.Fatal("the replay is not marked")
		}
		if e.Stock(t, "tea") != 3 {
			t.Fatalf("stock %d, want 3", e.Stock(t, "tea"))
		}

		if err := e.Emulator.Pay(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		ds := e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		if !ds[0].Delivered || ds[0].Attempts[len(ds[0].Attempts)-1].Status != http.StatusNoContent {
			t.Fatalf("notify delivery %+v", ds[0])
		}
		paid := ordGet(t, e, "u1", id)
		if paid["status"] != "paid" || paid["transaction_id"] == nil || paid["paid_at"] == nil {
			t.Fatalf("after notify: %v", paid)
		}
		if s, _, _ := e.Do(t, "GET", "/orders/"+id, "u2", nil); s != http.StatusNotFound {
			t.Fatalf("another user's order: %d", s)
		}

		// Duplicate: 204, nothing changes.
		nid := ds[0].ID
		if err := e.Emulator.Resend(nid, ""); err != nil {
			t.Fatal(err)
		}
		if d := ordWaitDone(t, e, nid, 2); !d.Delivered || d.Attempts[0].Status != http.StatusNoContent {
			t.Fatalf("duplicate delivery %+v", d)
		}
		// Tampered and stale: refused, nothing changes.
		for i, mode := range []string{"tampered", "stale"} {
			if err := e.Emulator.Resend(nid, mode); err != nil {
				t.Fatal(err)
			}
			if d := ordWaitDone(t, e, nid, 3+i); d.Delivered || d.Attempts[0].Status != http.StatusUnauthorized {
				t.Fatalf("%s delivery %+v", mode, d)
			}
		}
		if again := ordGet(t, e, "u1", id); fmt.Sprint(again) != fmt.Sprint(paid) {
			t.Fatalf("order changed by duplicate or refused notifies:\n%v\n%v", paid, again)
		}

		// Refunds: partial, then the rest.
		refund := map[string]any{"amount": 500, "reason": "少发一件"}
		if s, _, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "u1", refund); s != http.StatusForbidden {
			t.Fatalf("user refund: %d", s)
		}
		if s, _, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", map[string]any{"amount": 2001, "reason": "x"}); s != http.StatusConflict {
			t.Fatalf("refund over the total: %d", s)
		}
		s, out, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", refund, "Idempotency-Key", "r1")
		// Refunding, unless the emulator's REFUND.SUCCESS notify beat the answer.
		if st := ordMap(t, out, "order")["status"]; s != http.StatusOK || st != "refunding" && st != "paid" {
			t.Fatalf("refund: %d %v", s, out)
		}
		if s, _, h := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", refund, "Idempotency-Key", "r1"); s != http.StatusOK || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("refund replay: %d", s)
		}
		e.WaitNotify(t, id, "REFUND.SUCCESS")
		if o := ordGet(t, e, "u1", id); o["status"] != "paid" || o["refunded"] != 500.0 {
			t.Fatalf("after a partial refund: %v", o)
		}
		s, out, _ = e.Do(t, "POST", "/orders/"+id+"/refund", "admin", map[string]any{"reason": "退货"})
		if s != http.StatusOK {
			t.Fatalf("second refund: %d %v", s, out)
		}
		ordWaitAllRefunds(t, e, id, 2)
		if o := ordGet(t, e, "u1", id); o["status"] != "refunded" || o["refunded"] != 2000.0 {
			t.Fatalf("after the full refund: %v", o)
		}
		if s, _, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", map[string]any{"reason": "again"}); s != http.StatusConflict {
			t.Fatalf("refund of a refunded order: %d", s)
		}
		if e.Stock(t, "tea") != 3 {
			t.Fatalf("stock %d: refunds do not restock", e.Stock(t, "tea"))
		}
	})
}

// TestForgedNotifies: notifies that are signed correctly but name another
// amount or merchant, or an unknown order, are refused with FAIL and leave
// the order pending; the same notify with the right fields is accepted.
func TestForgedNotifies(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(5))
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		id := o["id"].(string)
		now := e.Clock.Now()
		for _, tc := range []struct {
			name     string
			mchid    string
			resource map[string]any
			status   int
		}{
			{"another amount", ordertest.MchID, ordTransaction(ordertest.MchID, id, 1, now), http.StatusBadRequest},
			{"another mchid", ordertest.OtherMchID, ordTransaction(ordertest.OtherMchID, id, 1000, now), http.StatusBadRequest},
			{"unknown order", ordertest.MchID, ordTransaction(ordertest.MchID, "ffffffffffffffffffffffffffff", 1000, now), http.StatusNotFound},
		} {
			s, out := ordPostNotify(t, e, tc.mchid, tc.resource, now)
			if s != tc.status || out["code"] != "FAIL" || out["message"] == "" {
				t.Errorf("%s: %d %v", tc.name, s, out)
			}
		}
		// A stale timestamp, signed correctly.
		if s, out := ordPostNotify(t, e, ordertest.MchID, ordTransaction(ordertest.MchID, id, 1000, now), now.Add(-6*time.Minute)); s != http.StatusUnauthorized || out["code"] != "FAIL" {
			t.Errorf("stale: %d %v", s, out)
		}
		// A body that is not what was signed.
		h, body, _ := e.Emulator.SignedNotify(ordertest.MchID, "TRANSACTION.SUCCESS", ordTransaction(ordertest.MchID, id, 1000, now), now)
		req, _ := http.NewRequest("POST", e.Server.URL+"/pay/notify", bytes.NewReader(append(body, ' ')))
		req.Header = h
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("altered body: %v %v", resp.Status, err)
		}
		if got := ordGet(t, e, "u1", id); got["status"] != "pending" {
			t.Fatalf("order %v after refused notifies", got)
		}
		if e.Stock(t, "tea") != 4 {
			t.Fatalf("stock %d", e.Stock(t, "tea"))
		}
		// The control: the right notify is accepted.
		if s, out := ordPostNotify(t, e, ordertest.MchID, ordTransaction(ordertest.MchID, id, 1000, now), now); s != http.StatusNoContent {
			t.Fatalf("good notify: %d %v", s, out)
		}
		if got := ordGet(t, e, "u1", id); got["status"] != "paid" {
			t.Fatalf("order %v after a good notify", got)
		}
	})
}

func TestOrdersListAndCancelHTTP(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(10))
		var ids []string
		for range 3 {
			o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
			ids = append(ids, o["id"].(string))
			e.Clock.Advance(time.Millisecond)
		}
		s, out, _ := e.Do(t, "GET", "/orders?limit=2", "u1", nil)
		list, _ := out["orders"].([]any)
		if s != 200 || len(list) != 2 || list[0].(map[string]any)["id"] != ids[2] || out["next"] == nil {
			t.Fatalf("page 1: %d %v", s, out)
		}
		s, out, _ = e.Do(t, "GET", "/orders?limit=2&after="+out["next"].(string), "u1", nil)
		list, _ = out["orders"].([]any)
		if s != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != ids[0] || out["next"] != nil {
			t.Fatalf("page 2: %d %v", s, out)
		}
		if s, out, _ := e.Do(t, "GET", "/orders", "u2", nil); s != 200 || len(out["orders"].([]any)) != 0 {
			t.Fatalf("u2's orders: %v", out)
		}
		if s, _, _ := e.Do(t, "POST", "/orders/"+ids[0]+"/cancel", "u2", nil); s != http.StatusNotFound {
			t.Fatalf("u2 cancels u1's order: %d", s)
		}
		s, out, _ = e.Do(t, "POST", "/orders/"+ids[0]+"/cancel", "u1", nil)
		if s != 200 || ordMap(t, out, "order")["status"] != "cancelled" {
			t.Fatalf("cancel: %d %v", s, out)
		}
		if e.Stock(t, "tea") != 8 {
			t.Fatalf("stock %d, want 8", e.Stock(t, "tea"))
		}
		if s, out, _ := e.Do(t, "POST", "/orders", "", map[string]any{"items": []any{}}); s != http.StatusUnauthorized {
			t.Fatalf("anonymous create: %d %v", s, out)
		}
		if s, out, _ := e.Do(t, "POST", "/orders", "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 100}}}); s != http.StatusBadRequest {
			t.Fatalf("quantity 100: %d %v", s, out)
		}
	})
}

// ordWaitAllRefunds waits for n REFUND.SUCCESS deliveries of outTradeNo.
func ordWaitAllRefunds(t *testing.T, e *orderfntest.Env, outTradeNo string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds := e.WaitNotify(t, outTradeNo, "REFUND.SUCCESS")
		if len(ds) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refund notifies, want %d", len(ds), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ordCheckPaySign verifies paySign over "appId\ntimeStamp\nnonceStr\npackage\n"
// with the merchant's public key.
func ordCheckPaySign(t *testing.T, p map[string]any) {
	t.Helper()
	msg := ordertest.AppID + "\n" + p["timeStamp"].(string) + "\n" + p["nonceStr"].(string) + "\n" + p["package"].(string) + "\n"
	sig, err := base64.StdEncoding.DecodeString(p["paySign"].(string))
	if err != nil || p["signType"] != "RSA" {
		t.Fatalf("payment %v", p)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(ordertest.MerchantPublicKey(), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify: %v", err)
	}
}

func ptrInt(n int64) *int64 { return &n }

// TestAdminOrdersHTTP: the admin lists every user's orders (filtered by
// status, paged) and reads any order; a user still sees only their own.
func TestAdminOrdersHTTP(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(10))
		item := map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}
		var ids []string // oldest first: u1, u2, u1
		for _, u := range []string{"u1", "u2", "u1"} {
			o, _ := ordCreate(t, e, u, item, "")
			ids = append(ids, o["id"].(string))
			e.Clock.Advance(time.Millisecond)
		}
		if err := e.Emulator.Pay(context.Background(), ids[1]); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, ids[1], "TRANSACTION.SUCCESS")

		listIDs := func(user, query string) ([]string, string) {
			t.Helper()
			s, out, _ := e.Do(t, "GET", "/orders"+query, user, nil)
			list, ok := out["orders"].([]any)
			if s != 200 || !ok {
				t.Fatalf("GET /orders%s as %s: %d %v", query, user, s, out)
			}
			var got []string
			for _, o := range list {
				got = append(got, o.(map[string]any)["id"].(string))
			}
			next, _ := out["next"].(string)
			return got, next
		}
		if got, next := listIDs("admin", "?all=1"); fmt.Sprint(got) != fmt.Sprint([]string{ids[2], ids[1], ids[0]}) || next != "" {
			t.Fatalf("admin list: %v next %q", got, next)
		}
		if got, _ := listIDs("admin", "?all=1&status=paid"); fmt.Sprint(got) != fmt.Sprint([]string{ids[1]}) {
			t.Fatalf("admin paid: %v", got)
		}
		if got, _ := listIDs("admin", "?all=1&status=pending"); fmt.Sprint(got) != fmt.Sprint([]string{ids[2], ids[0]}) {
			t.Fatalf("admin pending: %v", got)
		}
		// Paging: one at a time, the cursor carries on.
		var paged []string
		for q := "?all=1&limit=1"; ; {
			got, next := listIDs("admin", q)
			paged = append(paged, got...)
			if next == "" || len(paged) > 5 {
				break
			}
			q = "?all=1&limit=1&after=" + next
		}
		if fmt.Sprint(paged) != fmt.Sprint([]string{ids[2], ids[1], ids[0]}) {
			t.Fatalf("admin paged: %v", paged)
		}
		// A user's list is still their own, and all/status are the admin's.
		if got, _ := listIDs("u1", ""); fmt.Sprint(got) != fmt.Sprint([]string{ids[2], ids[0]}) {
			t.Fatalf("u1 list: %v", got)
		}
		for _, q := range []string{"?all=1", "?status=paid"} {
			if s, out, _ := e.Do(t, "GET", "/orders"+q, "u1", nil); s != http.StatusForbidden {
				t.Fatalf("user GET /orders%s: %d %v", q, s, out)
			}
		}
		for _, q := range []string{"?all=1&status=shipped", "?all=1&after=bad%20cursor", "?all=1&limit=0"} {
			if s, out, _ := e.Do(t, "GET", "/orders"+q, "admin", nil); s != http.StatusBadRequest {
				t.Fatalf("admin GET /orders%s: %d %v", q, s, out)
			}
		}
		// Any order for the admin; the owner's only for users.
		if o := ordGet(t, e, "admin", ids[1]); o["status"] != "paid" || o["id"] != ids[1] {
			t.Fatalf("admin reads u2's order: %v", o)
		}
		if s, out, _ := e.Do(t, "GET", "/orders/"+ids[1], "u1", nil); s != http.StatusNotFound {
			t.Fatalf("u1 reads u2's order: %d %v", s, out)
		}
		if s, _, _ := e.Do(t, "GET", "/orders/0000000000000000000000000000", "admin", nil); s != http.StatusNotFound {
			t.Fatalf("admin reads a missing order: %d", s)
		}
		for _, p := range []string{"/orders?all=1", "/orders/" + ids[0]} {
			if s, _, _ := e.Do(t, "GET", p, "", nil); s != http.StatusUnauthorized {
				t.Fatalf("anonymous GET %s: %d", p, s)
			}
		}
	})
}
