package order_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

type countHook struct{ n atomic.Int64 }

func (h *countHook) OrderPaid(context.Context, string, order.Order) error { h.n.Add(1); return nil }

// balanceEnv is an order Env with a wallet holding credit fen for u1.
func balanceEnv(t *testing.T, b storetest.Backend, credit int64) (*ordertest.Env, *wallet.Service, *countHook) {
	t.Helper()
	e := ordertest.New(t, b, ordertest.Options{TTL: 2 * time.Minute})
	w := wallet.New(e.Store, wallet.Options{Now: e.Clock.Now})
	h := &countHook{}
	e.SetOrders(func(o *order.Options) { o.Wallet, o.Paid = w, h })
	if credit > 0 {
		if _, err := w.Adjust(context.Background(), "u1", credit, "test credit", ""); err != nil {
			t.Fatal(err)
		}
	}
	return e, w, h
}

// checkWallet asserts the balance and that the ledger sums to it.
func checkWallet(t *testing.T, w *wallet.Service, openid string, want int64) {
	t.Helper()
	ctx := context.Background()
	bal, err := w.Get(ctx, openid)
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := w.Ledger(ctx, openid, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range es {
		sum += e.Amount
	}
	if bal.Balance != want || sum != bal.Balance || bal.Balance < 0 {
		t.Fatalf("balance %d, ledger sum %d; want %d", bal.Balance, sum, want)
	}
}

func TestBalancePaysInFull(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, w, h := balanceEnv(t, b, 5000)
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		req := line("tea", 2)
		req.UseBalance = true
		got, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil {
			t.Fatal(err)
		}
		o := got.Order
		if o.Status != order.Paid || o.PaidByBalance != 2000 || o.PayTotal == nil || *o.PayTotal != 0 || got.Payment != nil || h.n.Load() != 1 {
			t.Fatalf("order %+v payment %v hooks %d; want paid by balance at once", o, got.Payment, h.n.Load())
		}
		checkWallet(t, w, "u1", 3000)
		// A refund goes back to the wallet at once (no WeChat Pay part).
		r, _, err := e.Orders.Refund(ctx, o.ID, order.RefundRequest{Amount: ptr[int64](500), Reason: "r"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != order.Paid || r.Refunded != 500 || r.Refunds[0].Balance != 500 || r.Refunds[0].Status != order.RefundSuccess {
			t.Fatalf("after refund %+v", r)
		}
		checkWallet(t, w, "u1", 3500)
		r, _, err = e.Orders.Refund(ctx, o.ID, order.RefundRequest{Reason: "rest"}, "")
		if err != nil || r.Status != order.Refunded {
			t.Fatalf("refund rest: %+v %v", r, err)
		}
		checkWallet(t, w, "u1", 5000)
		if s := e.Stock(t, "tea"); s != 3 {
			t.Fatalf("stock %d, want 3 (a refund does not restock)", s)
		}
	})
}

func TestBalancePartialThenWeChatPay(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, w, h := balanceEnv(t, b, 700)
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		req := line("tea", 2)
		req.UseBalance = true
		got, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		if got.Order.Status != order.Pending || got.Order.PaidByBalance != 700 || *got.Order.PayTotal != 1300 || got.Payment == nil {
			t.Fatalf("created %+v", got.Order)
		}
		checkWallet(t, w, "u1", 0)
		if err := e.Emulator.Pay(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		o := mustGet(t, e, "u1", id)
		if o.Status != order.Paid || h.n.Load() != 1 {
			t.Fatalf("after notify %+v hooks %d", o, h.n.Load())
		}
		// 1500 back: WeChat Pay's 1300 first, then 200 of the balance.
		r, _, err := e.Orders.Refund(ctx, id, order.RefundRequest{Amount: ptr[int64](1500), Reason: "r"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Refunds[0].Balance != 200 {
			t.Fatalf("refund %+v, want 200 to the balance", r.Refunds[0])
		}
		e.WaitNotify(t, id, "REFUND.SUCCESS")
		o = mustGet(t, e, "u1", id)
		if o.Status != order.Paid || o.Refunded != 1500 {
			t.Fatalf("after refund %+v", o)
		}
		checkWallet(t, w, "u1", 200)
		r, _, err = e.Orders.Refund(ctx, id, order.RefundRequest{Reason: "rest"}, "")
		if err != nil || r.Status != order.Refunded || r.Refunds[1].Balance != 500 {
			t.Fatalf("rest: %+v %v", r, err)
		}
		checkWallet(t, w, "u1", 700)
	})
}

func TestBalanceReturnedOnCancelAndExpiry(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, w, _ := balanceEnv(t, b, 1500)
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		req := line("tea", 1)
		req.UseBalance = true
		a, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.Orders.Create(ctx, "u1", req, "") // 500 of the balance left: partial
		if err != nil {
			t.Fatal(err)
		}
		if a.Order.Status != order.Paid || c.Order.PaidByBalance != 500 {
			t.Fatalf("orders %+v %+v", a.Order, c.Order)
		}
		checkWallet(t, w, "u1", 0)
		for range 2 {
			if _, err := e.Orders.Cancel(ctx, "u1", c.Order.ID); err != nil {
				t.Fatal(err)
			}
		}
		checkWallet(t, w, "u1", 500)
		d, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil || d.Order.PaidByBalance != 500 {
			t.Fatalf("%+v %v", d.Order, err)
		}
		checkWallet(t, w, "u1", 0)
		e.Clock.Advance(2*time.Minute + time.Second)
		for range 2 {
			if _, err := e.Orders.Expire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if o := mustGet(t, e, "u1", d.Order.ID); o.Status != order.Closed {
			t.Fatalf("%+v", o)
		}
		checkWallet(t, w, "u1", 500)
	})
}

func TestBalanceConcurrentNeverOverdraws(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, w, _ := balanceEnv(t, b, 3500) // covers 3 orders of 1000 and half of one
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		req := line("tea", 1)
		req.UseBalance = true
		var mu sync.Mutex
		var byBalance int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := e.Orders.Create(ctx, "u1", req, "")
				if errors.Is(err, order.ErrBusy) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				byBalance += got.Order.PaidByBalance
				mu.Unlock()
			}()
		}
		wg.Wait()
		if byBalance != 3500 {
			t.Fatalf("orders took %d from the balance, want 3500", byBalance)
		}
		checkWallet(t, w, "u1", 0)
	})
}

func TestBalanceDisabled(t *testing.T) {
	e := ordertest.New(t, storetest.Backends(t)[0], ordertest.Options{})
	e.Product(t, "tea", 1000, nil)
	req := line("tea", 1)
	req.UseBalance = true
	if _, err := e.Orders.Create(context.Background(), "u1", req, ""); !errors.Is(err, order.ErrWalletDisabled) {
		t.Fatalf("err %v, want wallet_disabled", err)
	}
}

// TestBalanceLatePaymentAfterCancel: a partly balance-paid order cancelled
// while its WeChat Pay payment goes through: the balance comes back at the
// cancel, the payment is refunded automatically for the WeChat Pay part
// only, and nothing comes back twice.
func TestBalanceLatePaymentAfterCancel(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, w, _ := balanceEnv(t, b, 300)
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		req := line("tea", 1)
		req.UseBalance = true
		got, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		e.Pay.CloseFn = func(context.Context, string) error { return nil } // the close never reaches WeChat Pay
		if _, err := e.Orders.Cancel(ctx, "u1", id); err != nil {
			t.Fatal(err)
		}
		checkWallet(t, w, "u1", 300)
		if err := e.Emulator.Pay(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		e.WaitNotify(t, id, "REFUND.SUCCESS")
		o := mustGet(t, e, "u1", id)
		if o.Status != order.Refunded || o.Refunded != 700 || len(o.Refunds) != 1 || o.Refunds[0].Amount != 700 || o.Refunds[0].Balance != 0 {
			t.Fatalf("order %+v, want 700 refunded automatically", o)
		}
		checkWallet(t, w, "u1", 300)
	})
}
