package orderfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/orderfn"
	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

// sgStores creates the stores of the scan-and-go tests with the real
// package outlet (what the order functions' Build wires): s1 and s2 open,
// s3 closed; staff1 works at s1, staff2 at s2, staff0 at no one store. It
// wires them into e's orders and returns the stores' ids by name.
func sgStores(t testing.TB, e *orderfntest.Env) map[string]string {
	t.Helper()
	ctx := context.Background()
	ol := outlet.New(e.Store, outlet.Options{Now: e.Clock.Now})
	ids := map[string]string{}
	for i, name := range []string{"s1", "s2", "s3"} {
		status, lat, lng, addr := outlet.Open, 31.23+float64(i)/100, 121.47, "上海市 "+name
		if name == "s3" {
			status = outlet.Closed
		}
		st, _, err := ol.Create(ctx, outlet.Edit{Name: &name, Address: &addr, Lat: &lat, Lng: &lng, Status: &status}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = st.ID
	}
	for openid, at := range map[string]string{"staff1": ids["s1"], "staff2": ids["s2"], "staff0": ""} {
		if _, err := ol.GrantStaff(ctx, openid, at); err != nil {
			t.Fatal(err)
		}
	}
	e.SetOrders(func(o *order.Options) { o.Stores = ol })
	return ids
}

func sgEach(t *testing.T, f func(t *testing.T, e *orderfntest.Env, ids map[string]string)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := orderfntest.New(t, b, ordertest.Options{})
			f(t, e, sgStores(t, e))
		})
	}
}

// sgOrder places a scan-and-go order of one unit of sku in store.
func sgOrder(t *testing.T, e *orderfntest.Env, store, user, sku string) string {
	t.Helper()
	o, _ := ordCreate(t, e, user, map[string]any{"store_id": store, "fulfillment": "scan_and_go",
		"items": []any{map[string]any{"sku": sku, "quantity": 1}}}, "")
	if o["store_id"] != store || o["fulfillment"] != "scan_and_go" {
		t.Fatalf("scan-and-go order %v", o)
	}
	return o["id"].(string)
}

// sgPaid places a scan-and-go order and pays it at the emulator.
func sgPaid(t *testing.T, e *orderfntest.Env, store, user, sku string) string {
	t.Helper()
	id := sgOrder(t, e, store, user, sku)
	payOrder(t, e, id)
	return id
}

// getPass is GET /orders/{id}/exit-pass as user: the status, the code
// (from the header, checked against the PNG's presence), and the error
// code when refused.
func getPass(t *testing.T, e *orderfntest.Env, user, id string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.Server.URL+"/orders/"+id+"/exit-pass", nil)
	req.Header.Set(orderfntest.UserHeader, user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var out map[string]any
		json.Unmarshal(body, &out)
		code, _ := ordMap(t, out, "error")["code"].(string)
		return resp.StatusCode, "", code
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil || resp.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 256 {
		t.Fatalf("exit pass is not a 256-pixel PNG: %v, %q", err, resp.Header.Get("Content-Type"))
	}
	exp, err := time.Parse(time.RFC3339, resp.Header.Get(orderfn.HeaderExitPassExpires))
	if want := e.Clock.Now().Add(order.ExitPassTTL); err != nil || exp.Sub(want).Abs() > time.Second {
		t.Fatalf("pass expires at %v (%v); want %v", exp, err, want)
	}
	code := resp.Header.Get(orderfn.HeaderExitPassCode)
	if len(code) < 20 {
		t.Fatalf("exit pass code %q", code)
	}
	return resp.StatusCode, code, ""
}

// verify is POST /exit-passes/verify as user ("admin" for the token).
func verify(t *testing.T, e *orderfntest.Env, user, code string, header ...string) (int, map[string]any, string) {
	t.Helper()
	s, out, h := e.Do(t, "POST", "/exit-passes/verify", user, map[string]any{"code": code}, header...)
	errc := ""
	if s != http.StatusOK {
		errc, _ = ordMap(t, out, "error")["code"].(string)
	}
	if h.Get("Idempotent-Replayed") == "true" {
		out["replayed"] = true
	}
	return s, out, errc
}

// TestExitPassHTTP walks a scan-and-go order from the scan to the door,
// with every refusal along the way.
func TestExitPassHTTP(t *testing.T) {
	sgEach(t, func(t *testing.T, e *orderfntest.Env, ids map[string]string) {
		ctx := context.Background()
		if _, err := e.Products.Put(ctx, product.Product{SKU: "soap", Title: "香皂", Price: 500, Stock: ptrInt(10), Active: true, Barcode: "036000291452"}); err != nil {
			t.Fatal(err)
		}
		// The shopper scans, then orders what the scan found.
		s, out, _ := e.Do(t, "GET", "/products/barcode/0036000291452", "u1", nil)
		if s != http.StatusOK || ordMap(t, out, "product")["sku"] != "soap" {
			t.Fatalf("scan: %d %v", s, out)
		}
		id := sgOrder(t, e, ids["s1"], "u1", "soap")
		if s, _, c := getPass(t, e, "u1", id); s != http.StatusConflict || c != "exit_refused" {
			t.Fatalf("pass of an unpaid order: %d %s; want 409 exit_refused", s, c)
		}
		payOrder(t, e, id)
		if s, _, c := getPass(t, e, "u2", id); s != http.StatusNotFound || c != "order_not_found" {
			t.Fatalf("pass of another user's order: %d %s; want 404", s, c)
		}
		_, code, _ := getPass(t, e, "u1", id)

		// Who may verify: staff of s1 and the admin; not a shopper, not
		// staff of another store, not staff of no one store.
		for user, want := range map[string]string{"u1": "not_staff", "staff2": "not_store_staff", "staff0": "not_store_staff"} {
			if s, out, c := verify(t, e, user, code); s != http.StatusForbidden || c != want {
				t.Fatalf("verify by %s: %d %v; want 403 %s", user, s, out, want)
			}
		}
		if s, _, c := verify(t, e, "u1", "AAAAAAAAAAAAAAAAAAAAAAAAAA"); s != http.StatusForbidden || c != "not_staff" {
			t.Fatalf("a shopper probing codes: %d %s; want 403 before any lookup", s, c)
		}
		for _, bad := range []string{"", "nope", "AAAAAAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("x", 500)} {
			if s, out, c := verify(t, e, "staff1", bad); s != http.StatusNotFound || c != "exit_pass_not_found" {
				t.Fatalf("verify of %q: %d %v; want 404 exit_pass_not_found", bad, s, out)
			}
		}
		s, out, _ = verify(t, e, "staff1", strings.ToLower(code)) // some scanners report lower case
		if s != http.StatusOK {
			t.Fatalf("verify: %d %v", s, out)
		}
		items := out["items"].([]any)
		it := items[0].(map[string]any)
		if out["order_id"] != id || out["store_id"] != ids["s1"] || out["paid_at"] == nil || out["exited_by"] != "staff1" ||
			len(items) != 1 || it["sku"] != "soap" || it["title"] != "香皂" || it["quantity"] != 1.0 {
			t.Fatalf("verify answer %v", out)
		}
		// Once: the same code again (by anyone), and no new pass.
		for _, user := range []string{"staff1", "admin"} {
			if s, out, c := verify(t, e, user, code); s != http.StatusConflict || c != "already_exited" {
				t.Fatalf("second verify by %s: %d %v; want 409 already_exited", user, s, out)
			}
		}
		if s, _, c := getPass(t, e, "u1", id); s != http.StatusConflict || c != "already_exited" {
			t.Fatalf("pass after leaving: %d %s", s, c)
		}
		// The shopper sees when they left, never the staff member's openid
		// (another user's identifier); the admin sees who let them out.
		o := ordGet(t, e, "u1", id)
		if o["exited_at"] == nil || o["exited_by"] != nil || o["exit_pass"] != nil {
			t.Fatalf("order after leaving, as its owner: %v", o)
		}
		if o := ordGet(t, e, "admin", id); o["exited_at"] == nil || o["exited_by"] != "staff1" {
			t.Fatalf("order after leaving, as the admin: %v", o)
		}
		if _, out, _ := e.Do(t, "GET", "/orders", "u1", nil); strings.Contains(fmt.Sprint(out), "staff1") {
			t.Fatalf("the owner's list shows the staff member: %v", out)
		}

		// A new pass replaces the previous one; any pass of an order let out is 409.
		id2 := sgPaid(t, e, ids["s1"], "u1", "soap")
		_, a, _ := getPass(t, e, "u1", id2)
		_, b, _ := getPass(t, e, "u1", id2)
		if a == b {
			t.Fatal("two passes share a code")
		}
		if s, _, c := verify(t, e, "staff1", a); s != http.StatusGone || c != "exit_pass_expired" {
			t.Fatalf("replaced pass: %d %s; want 410 exit_pass_expired", s, c)
		}
		if s, out, _ := verify(t, e, "admin", b); s != http.StatusOK || out["exited_by"] != "admin" {
			t.Fatalf("current pass by the admin: %d %v", s, out)
		}
		if s, _, c := verify(t, e, "staff1", a); s != http.StatusConflict || c != "already_exited" {
			t.Fatalf("replaced pass of an order let out: %d %s; want 409", s, c)
		}

		// Expiry. (The clock goes back after each jump: the Pay emulator
		// allows WeChat Pay's 5 minutes of skew to the signing client.)
		id3 := sgPaid(t, e, ids["s1"], "u1", "soap")
		start := e.Clock.Now()
		_, c3, _ := getPass(t, e, "u1", id3)
		e.Clock.Advance(order.ExitPassTTL)
		if s, out, c := verify(t, e, "staff1", c3); s != http.StatusGone || c != "exit_pass_expired" {
			t.Fatalf("expired pass: %d %v; want 410", s, out)
		}
		e.Clock.Set(start)
		_, c3, _ = getPass(t, e, "u1", id3)
		e.Clock.Advance(order.ExitPassTTL - time.Second)
		if s, out, _ := verify(t, e, "staff1", c3); s != http.StatusOK {
			t.Fatalf("a pass a second before its expiry: %d %v", s, out)
		}
		e.Clock.Set(start)

		// A pass issued before a refund is refused at the door, and no new one is issued.
		id4 := sgPaid(t, e, ids["s1"], "u1", "soap")
		_, c4, _ := getPass(t, e, "u1", id4)
		if s, out, _ := e.Do(t, "POST", "/orders/"+id4+"/refund", "admin", map[string]any{"reason": "不要了"}); s != http.StatusOK {
			t.Fatalf("refund: %d %v", s, out)
		}
		if s, out, c := verify(t, e, "staff1", c4); s != http.StatusConflict || c != "exit_refused" {
			t.Fatalf("pass of a refunded order: %d %v; want 409 exit_refused", s, out)
		}
		e.WaitNotify(t, id4, "REFUND.SUCCESS")
		if s, _, c := getPass(t, e, "u1", id4); s != http.StatusConflict || c != "exit_refused" {
			t.Fatalf("pass of a refunded order: %d %s", s, c)
		}

		// A cancelled scan-and-go order, and an online order: no pass.
		id5 := sgOrder(t, e, ids["s1"], "u1", "soap")
		if s, out, _ := e.Do(t, "POST", "/orders/"+id5+"/cancel", "u1", nil); s != http.StatusOK {
			t.Fatalf("cancel: %d %v", s, out)
		}
		if s, _, c := getPass(t, e, "u1", id5); s != http.StatusConflict || c != "exit_refused" {
			t.Fatalf("pass of a cancelled order: %d %s", s, c)
		}
		online, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "soap", "quantity": 1}}}, "")
		payOrder(t, e, online["id"].(string))
		if s, _, c := getPass(t, e, "u1", online["id"].(string)); s != http.StatusConflict || c != "exit_refused" {
			t.Fatalf("pass of an online order: %d %s", s, c)
		}
		// A closed store takes no order.
		s, out, _ = e.Do(t, "POST", "/orders", "u1", map[string]any{"store_id": ids["s3"], "fulfillment": "scan_and_go",
			"items": []any{map[string]any{"sku": "soap", "quantity": 1}}})
		if s != http.StatusConflict || ordMap(t, out, "error")["code"] != "store_closed" {
			t.Fatalf("order in a closed store: %d %v", s, out)
		}
		// Stock: 10, less the six orders that hold units (the cancelled one gave its back).
		if got := e.Stock(t, "soap"); got != 10-5 {
			t.Fatalf("stock %d, want 5", got)
		}
	})
}

// TestExitPassBalanceAndRetryHTTP: an order the wallet paid in full gets a
// pass like one paid by WeChat Pay; a verify retried with its
// Idempotency-Key answers the same 200, any other verify 409.
func TestExitPassBalanceAndRetryHTTP(t *testing.T) {
	sgEach(t, func(t *testing.T, e *orderfntest.Env, ids map[string]string) {
		w := wallet.New(e.Store, wallet.Options{Now: e.Clock.Now})
		e.SetOrders(func(o *order.Options) { o.Wallet = w })
		if _, err := w.Adjust(context.Background(), "u1", 10000, "test credit", ""); err != nil {
			t.Fatal(err)
		}
		e.Product(t, "tea", 1000, nil)
		s, out, _ := e.Do(t, "POST", "/orders", "u1", map[string]any{"store_id": ids["s1"], "fulfillment": "scan_and_go", "use_balance": true,
			"items": []any{map[string]any{"sku": "tea", "quantity": 2}}})
		o, _ := out["order"].(map[string]any)
		if s != http.StatusCreated || o["status"] != "paid" || o["paid_by_balance"] != 2000.0 {
			t.Fatalf("balance order: %d %v", s, out)
		}
		_, code, _ := getPass(t, e, "u1", o["id"].(string))
		s, first, _ := verify(t, e, "staff1", code, "Idempotency-Key", "door-1")
		if s != http.StatusOK {
			t.Fatalf("verify: %d %v", s, first)
		}
		s, again, _ := verify(t, e, "staff1", code, "Idempotency-Key", "door-1")
		if s != http.StatusOK || again["replayed"] != true || again["exited_at"] != first["exited_at"] {
			t.Fatalf("retry with the same key: %d %v; want the first answer, replayed", s, again)
		}
		if s, _, c := verify(t, e, "staff1", code, "Idempotency-Key", "door-2"); s != http.StatusConflict || c != "already_exited" {
			t.Fatalf("another key: %d %s; want 409", s, c)
		}
		if s, _, c := verify(t, e, "admin", code, "Idempotency-Key", "door-1"); s != http.StatusConflict || c != "already_exited" {
			t.Fatalf("the same key by another caller: %d %s; want 409", s, c)
		}
	})
}

// TestExitPassVerifyRace: the same pass verified concurrently by staff and
// the admin: exactly one 200, every other answer 409 already_exited, and
// the order records the one who let it out.
func TestExitPassVerifyRace(t *testing.T) {
	const n = 12
	sgEach(t, func(t *testing.T, e *orderfntest.Env, ids map[string]string) {
		e.Product(t, "tea", 1000, nil)
		for round := range 3 {
			id := sgPaid(t, e, ids["s1"], "u1", "tea")
			_, code, _ := getPass(t, e, "u1", id)
			var wg sync.WaitGroup
			status := make([]int, n)
			by := make([]string, n)
			errc := make([]string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					user := "staff1"
					if i%3 == 0 {
						user = "admin"
					}
					var out map[string]any
					status[i], out, errc[i] = verify(t, e, user, code)
					if status[i] == http.StatusOK {
						by[i] = out["exited_by"].(string)
					}
				}()
			}
			wg.Wait()
			winner := ""
			for i := range n {
				switch {
				case status[i] == http.StatusOK && winner == "":
					winner = by[i]
				case status[i] == http.StatusConflict && errc[i] == "already_exited":
				default:
					t.Fatalf("round %d: verify %d answered %d %s (statuses %v)", round, i, status[i], errc[i], status)
				}
			}
			if o := ordGet(t, e, "admin", id); winner == "" || o["exited_by"] != winner {
				t.Fatalf("round %d: statuses %v, winner %q, order %v", round, status, winner, o["exited_by"])
			}
		}
	})
}

// TestScanAndGoStockRace: shoppers race for the last units of a scanned
// product; some pay, some cancel, more race for what the cancels gave
// back. No unit is ever sold twice: the stock plus what the live orders
// hold is the starting stock.
func TestScanAndGoStockRace(t *testing.T) {
	const stock, shoppers = 5, 16
	sgEach(t, func(t *testing.T, e *orderfntest.Env, ids map[string]string) {
		if _, err := e.Products.Put(context.Background(), product.Product{SKU: "milk", Title: "牛奶", Price: 800, Stock: ptrInt(stock), Active: true, Barcode: "6901234567892"}); err != nil {
			t.Fatal(err)
		}
		race := func(tag string) []string {
			var mu sync.Mutex
			var wg sync.WaitGroup
			var made []string
			for i := range shoppers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					user := fmt.Sprintf("%s%d", tag, i)
					s, out, _ := e.Do(t, "GET", "/products/barcode/6901234567892", user, nil)
					if s != http.StatusOK {
						t.Errorf("scan: %d %v", s, out)
						return
					}
					s, out, _ = e.Do(t, "POST", "/orders", user, map[string]any{"store_id": ids["s1"], "fulfillment": "scan_and_go",
						"items": []any{map[string]any{"sku": "milk", "quantity": 1}}}, "Idempotency-Key", user)
					switch {
					case s == http.StatusCreated:
						mu.Lock()
						made = append(made, user+" "+ordMap(t, out, "order")["id"].(string))
						mu.Unlock()
					case s == http.StatusConflict && ordMap(t, out, "error")["code"] == "sold_out":
					default:
						t.Errorf("order by %s: %d %v", user, s, out)
					}
				}()
			}
			wg.Wait()
			return made
		}
		first := race("a")
		if len(first) != stock || e.Stock(t, "milk") != 0 {
			t.Fatalf("%d orders made of a stock of %d; %d left", len(first), stock, e.Stock(t, "milk"))
		}
		// Two cancel, the rest pay; the cancels' units go to a second rush.
		for i, m := range first {
			user, id, _ := strings.Cut(m, " ")
			if i < 2 {
				if s, out, _ := e.Do(t, "POST", "/orders/"+id+"/cancel", user, nil); s != http.StatusOK {
					t.Fatalf("cancel: %d %v", s, out)
				}
				continue
			}
			payOrder(t, e, id)
		}
		second := race("b")
		if len(second) != 2 || e.Stock(t, "milk") != 0 {
			t.Fatalf("second rush made %d orders (want the 2 cancelled units); %d left", len(second), e.Stock(t, "milk"))
		}
		held := 0
		for _, m := range append(first, second...) {
			user, id, _ := strings.Cut(m, " ")
			if st := ordGet(t, e, user, id)["status"]; st == "pending" || st == "paid" {
				held++
			}
		}
		if got := e.Stock(t, "milk"); got+int64(held) != stock {
			t.Fatalf("stock %d + units held by live orders %d != %d", got, held, stock)
		}
	})
}

// TestScanAndGoShipsAsPickupHTTP: an order made in a store uploads its
// shipping as self-pickup (logistics_type 4) whatever MINIFN_SHIPPING_MODE
// and its products say, "off" included; the WeChat emulator checks the
// upload as upload_shipping_info does.
func TestScanAndGoShipsAsPickupHTTP(t *testing.T) {
	for _, mode := range []string{"express", "virtual", "off"} {
		t.Run(mode, func(t *testing.T) {
			shipEach(t, mode, 0, func(t *testing.T, e *orderfntest.Env, s *ordertest.ShipEnv) {
				ids := sgStores(t, e)
				if _, err := e.Products.Put(context.Background(), product.Product{SKU: "tv", Title: "电视", Price: 100000, Active: true, Fulfillment: product.FulfillExpress}); err != nil {
					t.Fatal(err)
				}
				o, _ := ordCreate(t, e, "u1", map[string]any{"store_id": ids["s1"], "fulfillment": "scan_and_go",
					"items": []any{map[string]any{"sku": "tv", "quantity": 1}}}, "")
				id := o["id"].(string)
				if sh := shippingOf(t, o); sh["type"] != "pickup" || sh["status"] != "pending" {
					t.Fatalf("new store order's shipping %v", sh)
				}
				payOrder(t, e, id)
				got := ordGet(t, e, "u1", id)
				if sh := shippingOf(t, got); sh["status"] != "uploaded" {
					t.Fatalf("paid store order's shipping %v", sh)
				}
				up, ok := s.WeChat.ShipmentOf(got["transaction_id"].(string))
				if !ok || up.LogisticsType != 4 || up.OpenID != "u1" || len(up.ShippingList) != 1 ||
					up.ShippingList[0].ItemDesc != "电视*1" || up.ShippingList[0].TrackingNo != "" || up.ShippingList[0].ExpressCompany != "" {
					t.Fatalf("upload %+v (seen %v)", up, ok)
				}
			})
		})
	}
}
