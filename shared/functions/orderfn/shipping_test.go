package orderfn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
)

const (
	uploadPath  = "/wxa/sec/order/upload_shipping_info"
	managedPath = "/wxa/sec/order/is_trade_managed"
)

// shipEach runs f on every backend with shipping uploads in mode, the
// WeChat emulator answering 10060001 within after of a payment.
func shipEach(t *testing.T, mode string, after time.Duration, f func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := orderfntest.New(t, b, ordertest.Options{})
			f(t, e, e.WithShipping(t, mode, after))
		})
	}
}

// payOrder has the Pay emulator pay the order and waits for its notify.
func payOrder(t *testing.T, e *orderfntest.Env, id string) {
	t.Helper()
	if err := e.Emulator.Pay(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
}

func shippingOf(t *testing.T, o map[string]any) map[string]any {
	t.Helper()
	return ordMap(t, o, "shipping")
}

// pendingShipping lists the ids of GET /orders?shipping=pending (admin).
func pendingShipping(t *testing.T, e *orderfntest.Env) []string {
	t.Helper()
	s, out, _ := e.Do(t, "GET", "/orders?shipping=pending", "admin", nil)
	if s != http.StatusOK {
		t.Fatalf("GET ?shipping=pending: %d %v", s, out)
	}
	var ids []string
	for _, o := range out["orders"].([]any) {
		ids = append(ids, o.(map[string]any)["id"].(string))
	}
	return ids
}

// deliver hands a captured push to the order service's handler, as wx-push will.
func deliver(t *testing.T, e *orderfntest.Env, msg map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(msg)
	h := e.Orders.ShippingEventHandlers()[msg["Event"].(string)]
	if h == nil {
		t.Fatalf("no handler for %v", msg["Event"])
	}
	if err := h(context.Background(), msg["Event"].(string), raw); err != nil {
		t.Fatal(err)
	}
}

func TestShippingVirtualHTTP(t *testing.T) {
	shipEach(t, "", 0, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		e.Product(t, "tea", 1000, nil)
		e.Product(t, "cup", 500, nil)
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{
			map[string]any{"sku": "tea", "quantity": 2}, map[string]any{"sku": "cup", "quantity": 1}}}, "")
		id := o["id"].(string)
		if sh := shippingOf(t, o); sh["type"] != "virtual" || sh["status"] != "pending" {
			t.Fatalf("new order's shipping %v", sh)
		}
		payOrder(t, e, id)
		got := ordGet(t, e, "u1", id)
		sh := shippingOf(t, got)
		if sh["status"] != "uploaded" || sh["uploaded_at"] == nil {
			t.Fatalf("paid virtual order's shipping %v", sh)
		}
		tx := got["transaction_id"].(string)
		up, ok := s.WeChat.ShipmentOf(tx)
		if !ok {
			t.Fatal("the emulator saw no upload keyed by the transaction_id")
		}
		if up.LogisticsType != 3 || up.DeliveryMode != 1 || up.OpenID != "u1" || len(up.ShippingList) != 1 ||
			up.ShippingList[0].ItemDesc != "商品 tea*2，商品 cup*1" || up.ShippingList[0].TrackingNo != "" {
			t.Fatalf("upload %+v", up)
		}
		if at, err := time.Parse(time.RFC3339Nano, up.UploadTime); err != nil || !strings.HasSuffix(up.UploadTime, "+08:00") || at.IsZero() {
			t.Fatalf("upload_time %q: %v", up.UploadTime, err)
		}
		if ids := pendingShipping(t, e); len(ids) != 0 {
			t.Fatalf("waiting to ship: %v", ids)
		}

		// The settlement push at shipping, then at settlement (the buyer confirmed).
		pushes := s.Pushes()
		if len(pushes) != 1 || pushes[0]["Event"] != "trade_manage_order_settlement" || pushes[0]["transaction_id"] != tx ||
			pushes[0]["merchant_trade_no"] != id || pushes[0]["settlement_time"] != nil || pushes[0]["estimated_settlement_time"] == nil {
			t.Fatalf("pushes at shipping %v", pushes)
		}
		deliver(t, e, pushes[0])
		if sh := shippingOf(t, ordGet(t, e, "u1", id)); sh["estimated_settlement_at"] == nil || sh["status"] != "uploaded" {
			t.Fatalf("after the shipping push: %v", sh)
		}
		resp, err := http.Post(s.URL+"/_emulator/shipping/"+tx+"/settle", "application/json", strings.NewReader(`{"manual":true}`))
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("settle: %v %v", resp, err)
		}
		pushes = s.Pushes()
		last := pushes[len(pushes)-1]
		if len(pushes) != 2 || last["confirm_receive_method"] != 2 || last["settlement_time"] == nil {
			t.Fatalf("settlement push %v", last)
		}
		deliver(t, e, last)
		settled := ordGet(t, e, "admin", id)
		sh = shippingOf(t, settled)
		if sh["status"] != "confirmed" || sh["settled_at"] == nil || sh["confirmed_at"] == nil || sh["confirm_method"] != "manual" {
			t.Fatalf("after settlement: %v", sh)
		}
		deliver(t, e, last) // the same push again changes nothing
		if again := ordGet(t, e, "admin", id); again["updated_at"] != settled["updated_at"] {
			t.Fatalf("a repeated push changed the order: %v", again)
		}
	})
}

func TestShippingRetriedByTimerHTTP(t *testing.T) {
	shipEach(t, "", time.Minute, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		e.Product(t, "tea", 1000, nil)
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		id := o["id"].(string)
		o2, _ := ordCreate(t, e, "u2", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		id2 := o2["id"].(string)
		payOrder(t, e, id)
		payOrder(t, e, id2)
		// WeChat does not know a payment yet for about a minute: 10060001.
		sh := shippingOf(t, ordGet(t, e, "u1", id))
		if sh["status"] != "pending" || !strings.Contains(sh["error"].(string), "10060001") || sh["attempts"] != 1.0 {
			t.Fatalf("shipping right after paying: %v", sh)
		}
		if ids := pendingShipping(t, e); len(ids) != 2 {
			t.Fatalf("waiting to ship: %v", ids)
		}
		// Too early still: the timer leaves it pending.
		if n, err := e.Orders.SweepShipping(context.Background()); err != nil || n != 0 {
			t.Fatalf("early sweep: %d %v", n, err)
		}
		e.Clock.Advance(61 * time.Second)
		// The second upload reaches WeChat but its answer is lost: the retry gets 10060002.
		s.WeChat.Fail(uploadPath, 1, 10060002)
		n, err := e.Orders.SweepShipping(context.Background())
		if err != nil || n != 2 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		for _, u := range []struct{ user, id string }{{"u1", id}, {"u2", id2}} {
			if sh := shippingOf(t, ordGet(t, e, u.user, u.id)); sh["status"] != "uploaded" || sh["error"] != nil {
				t.Fatalf("after the timer: %v", sh)
			}
		}
		if ids := pendingShipping(t, e); len(ids) != 0 {
			t.Fatalf("waiting to ship after the timer: %v", ids)
		}
		calls := s.WeChat.Calls(uploadPath)
		if n, err := e.Orders.SweepShipping(context.Background()); err != nil || n != 0 || s.WeChat.Calls(uploadPath) != calls {
			t.Fatalf("a sweep with nothing due: %d %v, %d calls", n, err, s.WeChat.Calls(uploadPath)-calls)
		}
	})
}

func TestShippingRefundedIsFinalHTTP(t *testing.T) {
	shipEach(t, "", time.Minute, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		e.Product(t, "tea", 1000, nil)
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		id := o["id"].(string)
		payOrder(t, e, id)
		if st, out, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", map[string]any{"reason": "缺货"}); st != http.StatusOK {
			t.Fatalf("refund: %d %v", st, out)
		}
		e.Clock.Advance(61 * time.Second)
		if _, err := e.Orders.SweepShipping(context.Background()); err != nil {
			t.Fatal(err)
		}
		sh := shippingOf(t, ordGet(t, e, "admin", id))
		if sh["status"] != "failed" || !strings.Contains(sh["error"].(string), "10060004") {
			t.Fatalf("refunded order's shipping: %v", sh)
		}
		calls := s.WeChat.Calls(uploadPath)
		e.Clock.Advance(time.Minute)
		if _, err := e.Orders.SweepShipping(context.Background()); err != nil || s.WeChat.Calls(uploadPath) != calls {
			t.Fatalf("a final refusal was retried: %v, %d calls", err, s.WeChat.Calls(uploadPath)-calls)
		}
	})
}

func TestShippingExpressHTTP(t *testing.T) {
	shipEach(t, "", 0, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		if st, out, _ := e.Do(t, "POST", "/products", "admin", map[string]any{"sku": "box", "title": "礼盒", "price": 5000, "fulfillment": "express"}); st != http.StatusCreated && st != http.StatusOK {
			t.Fatalf("product: %d %v", st, out)
		}
		if st, _, _ := e.Do(t, "POST", "/products", "admin", map[string]any{"sku": "bad", "title": "x", "price": 1, "fulfillment": "drone"}); st != http.StatusBadRequest {
			t.Fatalf("unknown fulfillment: %d", st)
		}
		e.Product(t, "tea", 1000, nil)
		items := []any{map[string]any{"sku": "box", "quantity": 1}, map[string]any{"sku": "tea", "quantity": 1}}
		for _, body := range []map[string]any{
			{"items": items},
			{"items": items, "address": map[string]any{"name": "张三", "phone": "call me", "region": "上海市 浦东新区", "detail": "世纪大道 1 号"}},
			{"items": items, "address": map[string]any{"name": "", "phone": "13800005678", "region": "上海市", "detail": "1 号"}},
		} {
			if st, out, _ := e.Do(t, "POST", "/orders", "u1", body); st != http.StatusBadRequest {
				t.Fatalf("create %v: %d %v", body, st, out)
			}
		}
		addr := map[string]any{"name": "张三", "phone": "13800005678", "region": "上海市 浦东新区", "detail": "世纪大道 1 号"}
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": items, "address": addr}, "")
		id := o["id"].(string)
		if sh := shippingOf(t, o); sh["type"] != "express" || o["address"].(map[string]any)["phone"] != "13800005678" {
			t.Fatalf("express order %v", o)
		}
		// Not paid yet: not shippable.
		if st, out, _ := e.Do(t, "POST", "/orders/"+id+"/ship", "admin", map[string]any{"express_company": "SF", "tracking_no": "SF1234567890"}); st != http.StatusConflict {
			t.Fatalf("ship unpaid: %d %v", st, out)
		}
		payOrder(t, e, id)
		if sh := shippingOf(t, ordGet(t, e, "u1", id)); sh["status"] != "pending" || s.WeChat.Calls(uploadPath) != 0 {
			t.Fatalf("paid express order: %v, %d uploads", sh, s.WeChat.Calls(uploadPath))
		}
		if ids := pendingShipping(t, e); len(ids) != 1 || ids[0] != id {
			t.Fatalf("to ship: %v", ids)
		}
		// WeChat reminds the merchant to ship: recorded on the order. A push
		// naming another payment of the order's number changes nothing.
		tx := ordGet(t, e, "u1", id)["transaction_id"].(string)
		if resp, err := http.Post(s.URL+"/_emulator/shipping/"+tx+"/remind", "application/json", nil); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("remind: %v %v", resp, err)
		}
		remind := s.Pushes()[len(s.Pushes())-1]
		if remind["Event"] != "trade_manage_remind_shipping" || remind["merchant_trade_no"] != id {
			t.Fatalf("remind push %v", remind)
		}
		forged := map[string]any{"Event": "trade_manage_order_settlement", "transaction_id": "4200000000000000000000000001",
			"merchant_trade_no": id, "settlement_time": 1, "confirm_receive_time": 1, "confirm_receive_method": 2}
		before := ordGet(t, e, "u1", id)
		deliver(t, e, forged)
		if after := ordGet(t, e, "u1", id); after["updated_at"] != before["updated_at"] {
			t.Fatalf("a push for another payment changed the order: %v", after["shipping"])
		}
		deliver(t, e, remind)
		if sh := shippingOf(t, ordGet(t, e, "u1", id)); sh["reminded_at"] == nil || sh["status"] != "pending" {
			t.Fatalf("after the reminder: %v", sh)
		}
		if st, _, _ := e.Do(t, "GET", "/orders?shipping=pending", "u1", nil); st != http.StatusForbidden {
			t.Fatalf("a user lists what waits: %d", st)
		}
		if st, _, _ := e.Do(t, "GET", "/orders?shipping=done", "admin", nil); st != http.StatusBadRequest {
			t.Fatalf("bad shipping filter: %d", st)
		}
		for _, c := range []struct {
			user string
			body any
			want int
		}{
			{"u1", map[string]any{"express_company": "SF", "tracking_no": "SF1"}, http.StatusForbidden},
			{"admin", map[string]any{"express_company": "", "tracking_no": "SF1"}, http.StatusBadRequest},
			{"admin", map[string]any{"express_company": "SF", "tracking_no": "有空格 1"}, http.StatusBadRequest},
			{"admin", "not json", http.StatusBadRequest},
		} {
			if st, out, _ := e.Do(t, "POST", "/orders/"+id+"/ship", c.user, c.body); st != c.want {
				t.Fatalf("ship %v as %s: %d %v, want %d", c.body, c.user, st, out, c.want)
			}
		}
		ship := map[string]any{"express_company": "SF", "tracking_no": "SF1234567890"}
		st, out, _ := e.Do(t, "POST", "/orders/"+id+"/ship", "admin", ship, "Idempotency-Key", "ship-1")
		if st != http.StatusOK {
			t.Fatalf("ship: %d %v", st, out)
		}
		shipped := ordMap(t, out, "order")
		if sh := shippingOf(t, shipped); sh["status"] != "uploaded" || sh["tracking_no"] != "SF1234567890" || sh["shipped_at"] == nil {
			t.Fatalf("shipped: %v", sh)
		}
		up, ok := s.WeChat.ShipmentOf(shipped["transaction_id"].(string))
		if !ok || up.LogisticsType != 1 || up.ShippingList[0].TrackingNo != "SF1234567890" || up.ShippingList[0].ExpressCompany != "SF" ||
			up.ShippingList[0].Contact == nil || up.ShippingList[0].Contact.Receiver != "138****5678" {
			t.Fatalf("express upload %+v", up)
		}
		// The same request again (with or without its key): the order as it is.
		for _, h := range [][]string{{"Idempotency-Key", "ship-1"}, nil} {
			if st, out, _ := e.Do(t, "POST", "/orders/"+id+"/ship", "admin", ship, h...); st != http.StatusOK ||
				ordMap(t, out, "order")["updated_at"] != shipped["updated_at"] {
				t.Fatalf("repeat ship: %d %v", st, out)
			}
		}
		if s.WeChat.Calls(uploadPath) != 1 {
			t.Fatalf("%d uploads, want 1", s.WeChat.Calls(uploadPath))
		}
		if st, out, _ := e.Do(t, "POST", "/orders/"+id+"/ship", "admin", map[string]any{"express_company": "ZTO", "tracking_no": "7800"}); st != http.StatusConflict || ordMap(t, out, "error")["code"] != "already_shipped" {
			t.Fatalf("ship again with another number: %d %v", st, out)
		}
		if st, _, _ := e.Do(t, "POST", "/orders/"+id+"/ship", "admin", map[string]any{"express_company": "ZTO", "tracking_no": "7800"}, "Idempotency-Key", "ship-1"); st != http.StatusUnprocessableEntity {
			t.Fatalf("a key reused for another request: %d", st)
		}
		// A virtual order does not ship by express.
		v, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		payOrder(t, e, v["id"].(string))
		if st, out, _ := e.Do(t, "POST", "/orders/"+v["id"].(string)+"/ship", "admin", ship); st != http.StatusConflict || ordMap(t, out, "error")["code"] != "not_shippable" {
			t.Fatalf("ship a virtual order: %d %v", st, out)
		}
		// The carrier delivered: the merchant has WeChat remind the buyer to
		// confirm, once (POST /orders/{id}/remind-receipt, admin).
		remindReceipt := func(user, id string) (int, map[string]any) {
			st, out, _ := e.Do(t, "POST", "/orders/"+id+"/remind-receipt", user, map[string]any{"received_at": e.Clock.Now()})
			return st, out
		}
		if st, out := remindReceipt("u1", id); st != http.StatusForbidden {
			t.Fatalf("a user reminds: %d %v", st, out)
		}
		if st, out := remindReceipt("admin", id); st != http.StatusNoContent {
			t.Fatalf("remind receipt: %d %v", st, out)
		}
		if st, out := remindReceipt("admin", id); st != http.StatusConflict || ordMap(t, out, "error")["code"] != "confirm_receive_refused" {
			t.Fatalf("a second reminder: %d %v", st, out)
		}
		if st, out := remindReceipt("admin", v["id"].(string)); st != http.StatusConflict || ordMap(t, out, "error")["code"] != "not_shippable" {
			t.Fatalf("a reminder for a virtual order: %d %v", st, out)
		}
	})
}

func TestShippingOffAndUnmanagedHTTP(t *testing.T) {
	shipEach(t, "off", 0, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		e.Product(t, "tea", 1000, nil)
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		payOrder(t, e, o["id"].(string))
		if got := ordGet(t, e, "u1", o["id"].(string)); got["shipping"] != nil || s.WeChat.Calls(uploadPath)+s.WeChat.Calls(managedPath) != 0 {
			t.Fatalf("shipping off: %v, %d calls", got["shipping"], s.WeChat.Calls(uploadPath))
		}
	})
	shipEach(t, "pickup", 0, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		s.WeChat.SetTradeManaged(ordertest.AppID, false)
		e.Product(t, "tea", 1000, nil)
		for _, u := range []string{"u1", "u2"} {
			o, _ := ordCreate(t, e, u, map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
			payOrder(t, e, o["id"].(string))
			if sh := shippingOf(t, ordGet(t, e, u, o["id"].(string))); sh["type"] != "pickup" || sh["status"] != "skipped" {
				t.Fatalf("unmanaged: %v", sh)
			}
		}
		if n, m := s.WeChat.Calls(managedPath), s.WeChat.Calls(uploadPath); n != 1 || m != 0 {
			t.Fatalf("is_trade_managed asked %d times (want 1, cached), %d uploads", n, m)
		}
		if ids := pendingShipping(t, e); len(ids) != 0 {
			t.Fatalf("waiting to ship: %v", ids)
		}
	})
}

// TestShippingPushBeforeUploadAnswer has WeChat's settlement push reach the
// order before the upload's own answer does (the emulator hands it over
// inside the upload call, as a fast push can in production): the upload is
// still counted once, and the order reads the same whichever came first.
func TestShippingPushBeforeUploadAnswer(t *testing.T) {
	shipEach(t, "", 0, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
		s.WeChat.SetOnPush(func(msg map[string]any) { deliver(t, e, msg) })
		e.Product(t, "tea", 1000, nil)
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		id := o["id"].(string)
		payOrder(t, e, id)
		sh := shippingOf(t, ordGet(t, e, "u1", id))
		if sh["status"] != "uploaded" || sh["attempts"] != 1.0 || sh["estimated_settlement_at"] == nil || sh["uploaded_at"] == nil {
			t.Fatalf("shipping %v; want uploaded once, with the settlement estimate", sh)
		}
		if ids := pendingShipping(t, e); len(ids) != 0 {
			t.Fatalf("still to ship: %v", ids)
		}
	})
}
