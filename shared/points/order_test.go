package points_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/store/storetest"
)

// creditHook is the order service's PaidHook with points alone (the app
// composes it with attribution and messages in catalog).
type creditHook struct {
	ps    *points.Service
	calls atomic.Int32
}

func (h *creditHook) OrderPaid(ctx context.Context, owner string, o order.Order) error {
	h.calls.Add(1)
	_, err := h.ps.CreditOrder(ctx, owner, o.ID, o.TransactionID, o.Total)
	return err
}

// TestPaidOrderCreditsOnceAcrossNotifies pays an order at the WeChat Pay
// emulator, which delivers the signed notify over HTTP; the same notify is
// then delivered twice more. The points are credited once.
func TestPaidOrderCreditsOnceAcrossNotifies(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := ordertest.New(t, b, ordertest.Options{})
			ps := points.New(e.Store, points.Options{Now: e.Clock.Now, PerYuan: 2})
			hook := &creditHook{ps: ps}
			e.SetOrders(func(o *order.Options) { o.Paid = hook })
			ctx := context.Background()
			e.Product(t, "tea", 1990, nil)
			created, err := e.Orders.Create(ctx, "alice", order.CreateRequest{
				Items: []order.LineRequest{{SKU: "tea", Quantity: 3}}}, "")
			if err != nil {
				t.Fatal(err)
			}
			id := created.Order.ID
			if err := e.Emulator.Pay(ctx, id); err != nil {
				t.Fatal(err)
			}
			first := e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			for i := 0; i < 2; i++ {
				if err := e.Emulator.Resend(first[0].ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			all := e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			if len(all) != 3 {
				t.Fatalf("%d deliveries, want 3", len(all))
			}
			for _, d := range all {
				if !d.Delivered {
					t.Fatalf("a notify was refused: %+v", d)
				}
			}
			if hook.calls.Load() < 3 {
				t.Errorf("the hook was told %d times, want every notify (3)", hook.calls.Load())
			}
			// 5970 fen at 2 points per yuan: 119 points, once.
			if bal := ledgerSum(t, ps, "alice"); bal != 119 {
				t.Fatalf("balance %d, want 119", bal)
			}
			ledger, _, _ := ps.Ledger(ctx, "alice", "", 10)
			if len(ledger) != 1 || ledger[0].Reason != points.ReasonOrder || ledger[0].Ref != id {
				t.Errorf("ledger %+v", ledger)
			}
		})
	}
}
