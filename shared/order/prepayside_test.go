package order_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestShortTimeExpireReachesWeChatPay: a time_expire under a minute ahead is
// WeChat Pay's to raise to a minute (WECHAT-PROTOCOLS.md §1.6), so our pay
// client sends it rather than refusing an order WeChat Pay would accept.
func TestShortTimeExpireReachesWeChatPay(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{TTL: 30 * time.Second})
		e.Product(t, "tea", 1000, ptr[int64](5))
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 1}}}
		c, err := e.Orders.Create(context.Background(), "u1", req, "k")
		if err != nil || c.Payment == nil {
			t.Fatalf("create with a 30s TTL: %+v, %v", c, err)
		}
	})
}

// TestPrepayRefusedBeforeSending: when our own pay client refuses the
// request (it never reached WeChat Pay), the answer says so, as a 500 of
// ours and not a 502 prepay_failed blaming WeChat Pay, and the order
// releases what it held.
func TestPrepayRefusedBeforeSending(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		e.Product(t, "tea", 1000, ptr[int64](5))
		e.Pay.PrepayFn = func(ctx context.Context, r pay.PrepayRequest) (string, error) {
			r.PayerOpenID = "" // a request our client refuses
			return e.Pay.Client.Prepay(ctx, r)
		}
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}}
		_, err := e.Orders.Create(context.Background(), "u1", req, "k")
		ae := apperr.From(err)
		if errors.Is(err, order.ErrPrepayFailed) || !errors.Is(err, order.ErrPrepayRefused) ||
			ae.Kind != apperr.Internal || ae.Code != "prepay_refused" {
			t.Fatalf("got %v (%v %s), want an Internal (500) prepay_refused", err, ae.Kind, ae.Code)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after a refused prepay, want 5", s)
		}
	})
}
