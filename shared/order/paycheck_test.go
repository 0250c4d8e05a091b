package order_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store/storetest"
)

// paidTx is the verified transaction WeChat Pay reports for a paid order o.
func paidTx(o order.Order, at time.Time) pay.Transaction {
	return pay.Transaction{
		AppID: ordertest.AppID, MchID: ordertest.MchID, OutTradeNo: o.OutTradeNo,
		TransactionID: "4200000000202401010000000042", TradeType: "JSAPI", TradeState: pay.StateSuccess,
		TradeStateDesc: "支付成功", BankType: "OTHERS", SuccessTime: at, PayerOpenID: "u1",
		Amount: pay.Amount{Total: o.Total, PayerTotal: o.Total, Currency: "CNY", PayerCurrency: "CNY"},
	}
}

// TestHandlePaymentChecks: a verified payment that disagrees with the order
// on any field WeChat Pay vouches for (appid, mchid, amount, currency, a
// transaction_id, the trade state) is refused with notify_mismatch and
// changes nothing: the order stays pending with its coupon locked, and the
// notify id is not recorded, so the same id with the right fields is then
// applied.
func TestHandlePaymentChecks(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		c := e.Coupon(t, "u1", 300, 0)
		got, err := e.Orders.Create(ctx, "u1", order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}, CouponID: c.ID}, "")
		if err != nil {
			t.Fatal(err)
		}
		o := got.Order
		if o.Total != 1700 {
			t.Fatalf("total %d, want 1700", o.Total)
		}
		now := e.Clock.Now()
		for _, tc := range []struct {
			name string
			edit func(*pay.Transaction)
		}{
			{"another appid", func(tx *pay.Transaction) { tx.AppID = "wx00000000000000ff" }},
			{"no appid", func(tx *pay.Transaction) { tx.AppID = "" }},
			{"another mchid", func(tx *pay.Transaction) { tx.MchID = ordertest.OtherMchID }},
			{"one fen less", func(tx *pay.Transaction) { tx.Amount.Total--; tx.Amount.PayerTotal-- }},
			{"one fen more", func(tx *pay.Transaction) { tx.Amount.Total++; tx.Amount.PayerTotal++ }},
			{"the subtotal before the coupon", func(tx *pay.Transaction) { tx.Amount.Total = o.Subtotal }},
			{"USD", func(tx *pay.Transaction) { tx.Amount.Currency = "USD" }},
			{"lowercase cny", func(tx *pay.Transaction) { tx.Amount.Currency = "cny" }},
			{"no transaction_id", func(tx *pay.Transaction) { tx.TransactionID = "" }},
			{"not paid", func(tx *pay.Transaction) { tx.TradeState = pay.StateNotPay }},
		} {
			tx := paidTx(o, now)
			tc.edit(&tx)
			out, err := e.Orders.HandlePayment(ctx, "EV-forged", tx)
			if !errors.Is(err, order.ErrNotifyMismatch) {
				t.Errorf("%s: got %+v, %v; want notify_mismatch", tc.name, out, err)
			}
			if cur := mustGet(t, e, "u1", o.ID); cur.Status != order.Pending || cur.TransactionID != "" || cur.PaidAt != nil {
				t.Fatalf("%s: order %+v after a refused payment", tc.name, cur)
			}
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Locked {
			t.Fatalf("coupon %s after refused payments, want locked", s)
		}
		if s := e.Stock(t, "tea"); s != 3 {
			t.Fatalf("stock %d after refused payments, want 3", s)
		}

		// The control: the same notify id with the right fields is applied.
		out, err := e.Orders.HandlePayment(ctx, "EV-forged", paidTx(o, now))
		if err != nil || out.Status != order.Paid || out.TransactionID != "4200000000202401010000000042" ||
			out.PaidAt == nil || !out.PaidAt.Equal(now) {
			t.Fatalf("good payment: %+v, %v", out, err)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Used {
			t.Fatalf("coupon %s after the payment, want used", s)
		}
		// No currency at all is how some notifies come: accepted as CNY.
		got2, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		tx := paidTx(got2.Order, now)
		tx.Amount.Currency = ""
		if out, err := e.Orders.HandlePayment(ctx, "EV-nocurrency", tx); err != nil || out.Status != order.Paid {
			t.Fatalf("payment without a currency: %+v, %v", out, err)
		}
	})
}

// TestCreateWithNotYetValidCoupon: an order cannot use a coupon before its
// valid_from (409 coupon_not_yet_valid, nothing held); from valid_from on
// it can.
func TestCreateWithNotYetValidCoupon(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		from := e.Clock.Now().Add(2 * time.Minute)
		camp, _, err := e.Coupons.CreateCampaign(ctx, coupon.CampaignInput{Title: "soon", Discount: &coupon.Discount{AmountOff: 200},
			Stock: 10, ValidFrom: from.Format(time.RFC3339), ValidUntil: from.Add(time.Hour).Format(time.RFC3339)}, "")
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := e.Coupons.Claim(ctx, "u1", camp.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 1}}, CouponID: c.ID}
		if got, err := e.Orders.Create(ctx, "u1", req, ""); codeOf(err) != "coupon_not_yet_valid" {
			t.Fatalf("before valid_from: %+v, %v; want coupon_not_yet_valid", got.Order, err)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after the refusal, want 5", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Usable {
			t.Fatalf("coupon %s after the refusal, want usable", s)
		}
		if n := pendingCount(t, e.Store); n != 0 {
			t.Fatalf("%d pending orders after the refusal", n)
		}
		e.Clock.Advance(2 * time.Minute)
		got, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil || got.Order.Total != 800 || got.Order.CouponID != c.ID {
			t.Fatalf("at valid_from: %+v, %v", got.Order, err)
		}
	})
}
