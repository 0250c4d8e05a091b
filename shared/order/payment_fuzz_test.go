package order_test

import (
	"context"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store/storetest"
)

// FuzzHandlePayment feeds HandlePayment verified transactions (what
// ParseNotify returns once the signature and the seal check out) with
// fuzzed fields, against a real pending order on bbolt with the Pay
// emulator. The property: an order becomes paid only from a transaction
// that matches it exactly (SUCCESS, this appid and mchid, its out_trade_no
// and total, CNY or no currency, a transaction_id), and a refusal is a 4xx
// error, never a panic or an internal error. The seeds (a wrong appid,
// mchid, amount, currency, a missing transaction_id…) run with every plain
// go test. Run with
//
//	go test ./shared/order -run '^$' -fuzz FuzzHandlePayment -fuzztime 30s
//
// (.ci/fuzz.sh runs it with the others).
func FuzzHandlePayment(f *testing.F) {
	b := storetest.Backends(f)[0] // bbolt: always there, and the fastest
	e := ordertest.New(f, b, ordertest.Options{})
	e.Product(f, "tea", 1000, nil)
	ctx := context.Background()
	var cur order.Order // the pending order the next input is about
	next := func(t testing.TB) {
		t.Helper()
		// The emulator checks request times against the clock: keep up with
		// the real time however long the fuzzer runs.
		e.Clock.Set(time.Now().Truncate(time.Second))
		got, err := e.Orders.Create(ctx, "u1", line("tea", 2), "")
		if err != nil {
			t.Fatal(err)
		}
		cur = got.Order
	}
	next(f)
	n := 0

	// appid, mchid, outTradeNo ("" stands for the order's), trade_state,
	// transaction_id, total minus the order's total, currency.
	const ok, tid = "SUCCESS", "4200000000202401010000000042"
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(0), "CNY") // the control: applied
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(0), "")
	f.Add("wx00000000000000ff", ordertest.MchID, "", ok, tid, int64(0), "CNY")
	f.Add("", ordertest.MchID, "", ok, tid, int64(0), "CNY")
	f.Add(ordertest.AppID, ordertest.OtherMchID, "", ok, tid, int64(0), "CNY")
	f.Add(ordertest.AppID, "", "", ok, tid, int64(0), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(-1), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(1), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(-2000), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(0), "USD")
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, tid, int64(0), "cny")
	f.Add(ordertest.AppID, ordertest.MchID, "", ok, "", int64(0), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "", "NOTPAY", tid, int64(0), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "", "REFUND", tid, int64(0), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "ffffffffffffffffffffffffffff", ok, tid, int64(0), "CNY")
	f.Add(ordertest.AppID, ordertest.MchID, "../x\x00", ok, tid, int64(0), "CNY")
	f.Fuzz(func(t *testing.T, appid, mchid, outTradeNo, state, txid string, delta int64, currency string) {
		for _, s := range []string{appid, mchid, outTradeNo, state, txid, currency} {
			if !utf8.ValidString(s) {
				return // ParseNotify decodes JSON, which yields no invalid UTF-8
			}
		}
		// Each input meets a pending order, whatever the input before did.
		if mustGet(t, e, "u1", cur.ID).Status != order.Pending {
			next(t)
		}
		if outTradeNo == "" {
			outTradeNo = cur.OutTradeNo
		}
		tx := pay.Transaction{AppID: appid, MchID: mchid, OutTradeNo: outTradeNo, TransactionID: txid,
			TradeType: "JSAPI", TradeState: state, SuccessTime: e.Clock.Now(),
			Amount: pay.Amount{Total: cur.Total + delta, PayerTotal: cur.Total + delta, Currency: currency}}
		n++
		_, err := e.Orders.HandlePayment(ctx, "EV-fuzz-"+strconv.Itoa(n), tx)
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.NotFound {
				t.Fatalf("HandlePayment(%+v): %v, of kind %v; want a 4xx kind", tx, err, k)
			}
		}
		after := mustGet(t, e, "u1", cur.ID)
		exact := state == pay.StateSuccess && appid == ordertest.AppID && mchid == ordertest.MchID &&
			outTradeNo == cur.OutTradeNo && delta == 0 && (currency == "" || currency == "CNY") && txid != ""
		if !exact {
			if after.Status != order.Pending || after.TransactionID != "" {
				t.Fatalf("order %s is %s (transaction_id %q, err %v) after the payment %+v", cur.ID, after.Status,
					after.TransactionID, err, tx)
			}
			return
		}
		if after.Status != order.Paid || err != nil || after.TransactionID != txid {
			t.Fatalf("order %s is %s (transaction_id %q, err %v) after the matching payment %+v", cur.ID, after.Status,
				after.TransactionID, err, tx)
		}
	})
}
