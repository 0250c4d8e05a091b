package order_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat"
)

// refundingShipper is the WeChat client with a refund started by the
// merchant while the paid notify uploads the shipping: the moment between
// the paid Write and the paid hook.
type refundingShipper struct {
	order.Shipper
	once   sync.Once
	refund func()
}

func (s *refundingShipper) UploadShippingInfo(ctx context.Context, sh wechat.Shipping) error {
	s.once.Do(s.refund)
	return s.Shipper.UploadShippingInfo(ctx, sh)
}

// TestPaidHookDespiteRefundDuringUpload: a refund started right after the
// payment (before the paid notify's hook ran) must not cost the order its
// paid hook (points, attribution, the paid message). It once did: the hook
// was skipped when the order read after the shipping upload was no longer
// "paid", and the console's dashboard e2e test timed out waiting for the
// order's points.
func TestPaidHookDespiteRefundDuringUpload(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ship := e.WithShipping(t, order.ShippingVirtual, 0)
		h := &countHook{}
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		got, err := e.Orders.Create(ctx, "u1", line("tea", 2), "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		rs := &refundingShipper{Shipper: ship.Client, refund: func() {
			if _, _, err := e.Orders.Refund(ctx, id, order.RefundRequest{Amount: ptr[int64](300), Reason: "short"}, ""); err != nil {
				t.Error(err)
			}
		}}
		e.SetOrders(func(o *order.Options) { o.Paid, o.Shipper = h, rs })
		if err := e.Emulator.Pay(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		e.WaitNotify(t, id, "REFUND.SUCCESS")
		deadline := time.Now().Add(5 * time.Second)
		for h.n.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if o := mustGet(t, e, "u1", id); o.Refunded != 300 || h.n.Load() == 0 {
			t.Fatalf("order %s refunded %d, paid hook told %d times; want 300 and at least once", o.Status, o.Refunded, h.n.Load())
		}
	})
}
