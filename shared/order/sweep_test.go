package order_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store/storetest"
)

// paidOrder creates an order of 2 teas at 1,000 fen and pays it through the
// emulator.
func paidOrder(t *testing.T, e *ordertest.Env, owner string) order.Order {
	t.Helper()
	ctx := context.Background()
	got, err := e.Orders.Create(ctx, owner, line("tea", 2), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Emulator.Pay(ctx, got.Order.ID); err != nil {
		t.Fatal(err)
	}
	e.WaitNotify(t, got.Order.ID, "TRANSACTION.SUCCESS")
	if o := mustGet(t, e, owner, got.Order.ID); o.Status != order.Paid {
		t.Fatalf("order %+v, want paid", o)
	}
	return got.Order
}

// TestSweepFinishesLostRefundNotify: a refund WeChat Pay took but whose
// REFUND.SUCCESS notify never came is finished by the sweep, once it is old
// enough and once WeChat Pay says it is final; then its entry is gone.
func TestSweepFinishesLostRefundNotify(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		e.SetOrders(func(o *order.Options) { o.RefundSweepAfter = 2 * time.Minute })
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		o := paidOrder(t, e, "u1")

		// WeChat Pay accepts the refund; its notify is lost.
		e.Pay.RefundFn = func(_ context.Context, r pay.RefundRequest) (pay.Refund, error) {
			return pay.Refund{RefundID: "503000000120241201", OutRefundNo: r.OutRefundNo, Status: pay.RefundProcessing}, nil
		}
		var queries atomic.Int32
		final := pay.RefundProcessing
		e.Pay.QueryRefundFn = func(_ context.Context, no string) (pay.Refund, error) {
			queries.Add(1)
			res := pay.Refund{RefundID: "503000000120241201", OutRefundNo: no, Status: final}
			if final == pay.RefundSuccess {
				res.SuccessTime = e.Clock.Now()
			}
			return res, nil
		}
		if _, _, err := e.Orders.Refund(ctx, o.ID, order.RefundRequest{Amount: ptr[int64](500), Reason: "破损"}, ""); err != nil {
			t.Fatal(err)
		}
		sweep := func(want int) {
			t.Helper()
			if n, err := e.Orders.SweepRefunds(ctx); n != want || err != nil {
				t.Fatalf("SweepRefunds = %d, %v; want %d", n, err, want)
			}
		}
		sweep(0) // too young: the notify may still come
		if queries.Load() != 0 {
			t.Fatal("a young refund was queried")
		}
		e.Clock.Advance(2*time.Minute + time.Second)
		sweep(0) // WeChat Pay says it is still processing
		if got := mustGet(t, e, "u1", o.ID); got.Status != order.Refunding || queries.Load() != 1 {
			t.Fatalf("order %s after a processing answer (%d queries), want refunding", got.Status, queries.Load())
		}
		final = pay.RefundSuccess
		sweep(1)
		got := mustGet(t, e, "u1", o.ID)
		if got.Status != order.Paid || got.Refunded != 500 || got.Refunds[0].Status != order.RefundSuccess || got.Refunds[0].DoneAt == nil {
			t.Fatalf("order %+v, want paid with 500 refunded", got)
		}
		sweep(0) // its entry is gone: nothing is asked again
		if queries.Load() != 2 {
			t.Fatalf("%d queries, want 2", queries.Load())
		}
	})
}

// TestSweepResubmitsUnsentRefund: a refund that never reached WeChat Pay
// (it did not answer) is submitted again by the sweep with the same
// out_refund_no, and finishes through the emulator's notify.
func TestSweepResubmitsUnsentRefund(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		e.SetOrders(func(o *order.Options) { o.RefundSweepAfter = 2 * time.Minute })
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		o := paidOrder(t, e, "u1")
		var sent []string
		e.Pay.RefundFn = func(_ context.Context, r pay.RefundRequest) (pay.Refund, error) {
			sent = append(sent, r.OutRefundNo)
			return pay.Refund{}, pay.ErrUnavailable
		}
		if _, _, err := e.Orders.Refund(ctx, o.ID, order.RefundRequest{Reason: "不想要了"}, ""); err == nil {
			t.Fatal("Refund with WeChat Pay down succeeded")
		}
		if got := mustGet(t, e, "u1", o.ID); got.Status != order.Refunding || got.Refunds[0].Status != order.RefundSubmitting {
			t.Fatalf("order %+v, want a submitting refund", got)
		}
		e.Pay.RefundFn = func(ctx context.Context, r pay.RefundRequest) (pay.Refund, error) {
			sent = append(sent, r.OutRefundNo)
			return e.Client.Refund(ctx, r) // WeChat Pay is back
		}
		if n, err := e.Orders.SweepRefunds(ctx); n != 0 || err != nil || len(sent) != 1 {
			t.Fatalf("young refund: SweepRefunds = %d, %v, %d sent; want nothing", n, err, len(sent))
		}
		e.Clock.Advance(2*time.Minute + time.Second)
		if _, err := e.Orders.SweepRefunds(ctx); err != nil {
			t.Fatal(err)
		}
		if len(sent) != 2 || sent[1] != sent[0] {
			t.Fatalf("refunds sent %v, want the same out_refund_no twice", sent)
		}
		e.WaitNotify(t, o.ID, "REFUND.SUCCESS")
		got := mustGet(t, e, "u1", o.ID)
		if got.Status != order.Refunded || got.Refunded != got.Total {
			t.Fatalf("order %+v, want refunded", got)
		}
		if n, err := e.Orders.SweepRefunds(ctx); n != 0 || err != nil || len(sent) != 2 {
			t.Fatalf("after the refund: SweepRefunds = %d, %v, %d sent; want nothing", n, err, len(sent))
		}
	})
}
