package orderfn_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/orderfn"
	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/store/storetest"
)

// lateEnv is an order Env with the real paid hook (points at 1 per yuan,
// attribution) and a referrer id to order under.
type lateEnv struct {
	*orderfntest.Env
	points *points.Service
	scenes *scene.Service
	refID  string
}

func newLateEnv(t *testing.T, b storetest.Backend) *lateEnv {
	t.Helper()
	e := &lateEnv{Env: orderfntest.New(t, b, ordertest.Options{})}
	e.points = points.New(e.Store, points.Options{Now: e.Clock.Now, PerYuan: 1})
	e.scenes = scene.New(e.Store, scene.Options{Now: e.Clock.Now})
	e.SetOrders(func(o *order.Options) { o.Paid = orderfn.NewPaidHook(e.points, e.scenes, nil) })
	e.SetOrders(func(o *order.Options) { o.RefundSweepAfter = 2 * time.Minute })
	var err error
	if e.refID, err = e.scenes.ReferrerID(context.Background(), "sharer"); err != nil {
		t.Fatal(err)
	}
	e.Product(t, "tea", 1000, ptrInt(10))
	return e
}

// emu posts to a control route of the Pay emulator and checks the status.
func (e *lateEnv) emu(t *testing.T, path, body string, want int) {
	t.Helper()
	resp, err := http.Post(e.PayURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST %s %s: %d, want %d", path, body, resp.StatusCode, want)
	}
}

// order places u's order of 2 teas (2,000 fen) under the referrer.
func (e *lateEnv) order(t *testing.T, u string) string {
	t.Helper()
	o, _ := ordCreate(t, e.Env, u, map[string]any{
		"items": []any{map[string]any{"sku": "tea", "quantity": 2}}, "referrer": e.refID}, "")
	return o["id"].(string)
}

// referred is the referrer's paid orders and paid total.
func (e *lateEnv) referred(t *testing.T) (int64, int64) {
	t.Helper()
	sum, err := e.scenes.Summarize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sum.ByReferrer {
		if st.Referrer == "sharer" {
			return st.PaidOrders, st.PaidTotal
		}
	}
	return 0, 0
}

func (e *lateEnv) balance(t *testing.T, u string) int64 {
	t.Helper()
	n, err := e.points.Balance(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLatePaymentRefundFailsHTTP: a payment reaches an order already
// cancelled (the close was lost), and its automatic refund does not go
// through: refused with NOT_ENOUGH, closed, or abnormal. The order stays
// cancelled, keeps paid_at and transaction_id, shows the failed refund and
// the attention flag to the admin, and the paid hook never runs (no points,
// no attribution), not even on a notify delivered again. The sweep retries a
// refused refund with the same out_refund_no and a closed one with a new
// one, until it succeeds; an abnormal one is left to the merchant.
func TestLatePaymentRefundFailsHTTP(t *testing.T) {
	for _, tc := range []struct {
		fault, refund, attention string
		retried                  bool
	}{
		{`{"code":"NOT_ENOUGH"}`, "failed", "refund_failed", true},
		{`{"status":"CLOSED"}`, "closed", "refund_failed", true},
		{`{"status":"ABNORMAL"}`, "abnormal", "refund_abnormal", false},
	} {
		t.Run(tc.refund, func(t *testing.T) {
			for _, b := range storetest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) { lateRefundFails(t, b, tc.fault, tc.refund, tc.attention, tc.retried) })
			}
		})
	}
}

func lateRefundFails(t *testing.T, b storetest.Backend, fault, refund, attention string, retried bool) {
	e := newLateEnv(t, b)
	ctx := context.Background()
	// Control: an order paid in time earns points and counts for the referrer.
	paid := e.order(t, "u0")
	e.emu(t, "/_emulator/pay/"+paid, "", 200)
	e.WaitNotify(t, paid, "TRANSACTION.SUCCESS")
	if n, total := e.referred(t); n != 1 || total != 2000 || e.balance(t, "u0") != 20 {
		t.Fatalf("control: referrer %d orders %d fen, u0 balance %d; want 1, 2000, 20", n, total, e.balance(t, "u0"))
	}

	id := e.order(t, "u1")
	e.Pay.CloseFn = func(context.Context, string) error { return nil } // the close never reaches WeChat Pay
	if s, out, _ := e.Do(t, "POST", "/orders/"+id+"/cancel", "u1", nil); s != 200 {
		t.Fatalf("cancel: %d %v", s, out)
	}
	e.emu(t, "/_emulator/pay/"+id+"/refund-fault", fault, 204)
	e.emu(t, "/_emulator/pay/"+id, "", 200)
	first := e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
	if refund != "failed" {
		e.WaitNotify(t, id, "REFUND."+strings.ToUpper(refund))
	}
	// The payment notify is delivered again: still nothing for the hook.
	if err := e.Emulator.Resend(first[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	ordWaitDone(t, e.Env, first[0].ID, 2)

	check := func(when, status, refundStatus, attention string) map[string]any {
		t.Helper()
		o := ordGet(t, e.Env, "admin", id)
		refunds, _ := o["refunds"].([]any)
		last := map[string]any{}
		if len(refunds) > 0 {
			last = refunds[len(refunds)-1].(map[string]any)
		}
		att, _ := o["attention"].(string)
		if o["status"] != status || o["paid_at"] == nil || o["transaction_id"] == nil || o["cancelled_at"] == nil ||
			last["status"] != refundStatus || last["auto"] != true || att != attention {
			t.Fatalf("%s: order %v; want %s with the auto refund %s, attention %q", when, o, status, refundStatus, attention)
		}
		if n, total := e.referred(t); n != 1 || total != 2000 {
			t.Fatalf("%s: referrer has %d orders, %d fen; want the control's 1, 2000", when, n, total)
		}
		if bal := e.balance(t, "u1"); bal != 0 {
			t.Fatalf("%s: u1 has %d points, want 0", when, bal)
		}
		return o
	}
	check("after the failed refund", "cancelled", refund, attention)
	s, out, _ := e.Do(t, "GET", "/orders?all=1&attention=1", "admin", nil)
	if list, _ := out["orders"].([]any); s != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("admin attention list: %d %v", s, out)
	}
	if s, out, _ := e.Do(t, "GET", "/orders?all=1&attention=2", "admin", nil); s != http.StatusBadRequest {
		t.Fatalf("attention=2: %d %v", s, out)
	}
	if s, out, _ := e.Do(t, "GET", "/orders?attention=1", "u1", nil); s != http.StatusForbidden {
		t.Fatalf("user attention list: %d %v", s, out)
	}

	// The sweep leaves a fresh failure alone, then retries it.
	if _, err := e.Orders.SweepRefunds(ctx); err != nil {
		t.Fatal(err)
	}
	check("young failure swept", "cancelled", refund, attention)
	e.Clock.Advance(2*time.Minute + time.Second)
	if _, err := e.Orders.SweepRefunds(ctx); err != nil {
		t.Fatal(err)
	}
	if !retried {
		check("abnormal swept", "cancelled", refund, attention)
		return
	}
	ordWaitAllRefunds(t, e.Env, id, 1)
	o := check("after the retry", "refunded", "success", "")
	refunds := o["refunds"].([]any)
	var nos []string
	for _, r := range refunds {
		nos = append(nos, r.(map[string]any)["out_refund_no"].(string))
	}
	want := []string{id + "-auto"} // refused: WeChat Pay recorded nothing, the same number again
	if refund == "closed" {
		want = []string{id + "-auto", id + "-auto2"} // closed is final: a new number
	}
	if fmt.Sprint(nos) != fmt.Sprint(want) || o["refunded"] != 2000.0 {
		t.Fatalf("refunds %v (%v refunded), want %v", nos, o["refunded"], want)
	}
	if s, out, _ := e.Do(t, "GET", "/orders?all=1&attention=1", "admin", nil); s != 200 || len(out["orders"].([]any)) != 0 {
		t.Fatalf("attention after the refund: %d %v", s, out)
	}
	if e.Stock(t, "tea") != 8 {
		t.Fatalf("stock %d, want 8 (the control's 2 sold)", e.Stock(t, "tea"))
	}
}

// TestMerchantRefundRefusedHTTP: a merchant's refund that WeChat Pay refuses
// or closes leaves the order paid, its points and attribution untouched and
// no attention flag (the merchant saw the answer).
func TestMerchantRefundRefusedHTTP(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newLateEnv(t, b)
			id := e.order(t, "u1")
			e.emu(t, "/_emulator/pay/"+id, "", 200)
			e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			e.emu(t, "/_emulator/pay/"+id+"/refund-fault", `{"code":"NOT_ENOUGH"}`, 204)
			s, out, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", map[string]any{"reason": "破损"})
			if s < 400 || s == 500 {
				t.Fatalf("refused refund: %d %v", s, out)
			}
			o := ordGet(t, e.Env, "admin", id)
			r := o["refunds"].([]any)[0].(map[string]any)
			if o["status"] != "paid" || r["status"] != "failed" || o["attention"] != nil {
				t.Fatalf("order %v, want paid with a failed refund", o)
			}
			e.emu(t, "/_emulator/pay/"+id+"/refund-fault", `{"status":"CLOSED"}`, 204)
			if s, out, _ := e.Do(t, "POST", "/orders/"+id+"/refund", "admin", map[string]any{"reason": "破损", "amount": 500}); s != 200 {
				t.Fatalf("refund: %d %v", s, out)
			}
			e.WaitNotify(t, id, "REFUND.CLOSED")
			o = ordGet(t, e.Env, "admin", id)
			if o["status"] != "paid" || o["attention"] != nil || len(o["refunds"].([]any)) != 2 {
				t.Fatalf("order %v, want paid after a closed refund", o)
			}
			if n, _ := e.referred(t); n != 1 || e.balance(t, "u1") != 20 {
				t.Fatalf("referrer %d orders, balance %d; want 1, 20", n, e.balance(t, "u1"))
			}
		})
	}
}
