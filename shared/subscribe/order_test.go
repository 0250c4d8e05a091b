package subscribe_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/subscribe"
)

// sendHook is the order service's PaidHook with the paid message alone (the
// app composes it with points and attribution in catalog).
type sendHook struct {
	subs  *subscribe.Service
	calls atomic.Int32
	sent  atomic.Int32
}

func (h *sendHook) OrderPaid(ctx context.Context, owner string, o order.Order) error {
	h.calls.Add(1)
	sent, err := h.subs.OrderPaid(ctx, subscribe.Paid{OpenID: owner, OrderID: o.ID, Total: o.Total, PaidAt: *o.PaidAt})
	if sent {
		h.sent.Add(1)
	}
	return err
}

// TestPaidNotifyThreeTimesSendsOnce pays an order at the WeChat Pay
// emulator, which delivers the signed notify over HTTP; the same notify is
// then delivered twice more. The user holds two credits; one message is
// sent, and one credit is left.
func TestPaidNotifyThreeTimesSendsOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			o := ordertest.New(t, b, ordertest.Options{})
			e := newEnv(t, o.Store, o.Clock.Now)
			hook := &sendHook{subs: e.svc}
			o.SetOrders(func(o *order.Options) { o.Paid = hook })
			ctx := context.Background()
			alice := e.user("alice")
			e.emu.Accept(appID, alice, tmpl, 2)
			for _, k := range []string{"r1", "r2"} {
				if _, err := e.svc.Record(ctx, alice, map[string]string{tmpl: "accept"}, k); err != nil {
					t.Fatal(err)
				}
			}
			o.Product(t, "tea", 1990, nil)
			created, err := o.Orders.Create(ctx, alice, order.CreateRequest{
				Items: []order.LineRequest{{SKU: "tea", Quantity: 3}}}, "")
			if err != nil {
				t.Fatal(err)
			}
			id := created.Order.ID
			if err := o.Emulator.Pay(ctx, id); err != nil {
				t.Fatal(err)
			}
			first := o.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			for range 2 {
				if err := o.Emulator.Resend(first[0].ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			all := o.WaitNotify(t, id, "TRANSACTION.SUCCESS")
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
			msgs := e.emu.Sent(alice)
			if len(msgs) != 1 || hook.sent.Load() != 1 || e.emu.Calls(sendPath) != 1 {
				t.Fatalf("%d messages, %d sends, %d calls: want exactly 1", len(msgs), hook.sent.Load(), e.emu.Calls(sendPath))
			}
			if msgs[0].Data["character_string1"] != id || msgs[0].Data["amount2"] != "59.70" {
				t.Errorf("message data %v", msgs[0].Data)
			}
			if n := credits(t, e, alice); n != 1 {
				t.Errorf("%d credits left, want 1", n)
			}
			if n := e.emu.Credits(appID, alice, tmpl); n != 1 {
				t.Errorf("WeChat holds %d credits, want 1", n)
			}
		})
	}
}
