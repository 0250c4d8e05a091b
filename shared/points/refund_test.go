package points_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/store/storetest"
)

// refundEnv is an order Env whose paid orders earn 2 points per yuan and
// whose refunds take them back.
type refundEnv struct {
	*ordertest.Env
	ps   *points.Service
	hook *creditHook
}

func newRefundEnv(t *testing.T, b storetest.Backend) *refundEnv {
	t.Helper()
	e := &refundEnv{Env: ordertest.New(t, b, ordertest.Options{})}
	e.ps = points.New(e.Store, points.Options{Now: e.Clock.Now, PerYuan: 2})
	e.hook = &creditHook{ps: e.ps}
	e.SetOrders(func(o *order.Options) { o.Paid = e.hook })
	e.SetOrders(func(o *order.Options) { o.Points = e.ps })
	e.Product(t, "tea", 1990, nil)
	return e
}

// paid places alice's order of 3 teas (5,970 fen: 119 points) and pays it
// at the emulator.
func (e *refundEnv) paid(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	created, err := e.Orders.Create(ctx, "alice", order.CreateRequest{Items: []order.LineRequest{{SKU: "tea", Quantity: 3}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := created.Order.ID
	if err := e.Emulator.Pay(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
	e.Clock.Advance(time.Second) // ledger entries of the same millisecond come in no order
	return id
}

// refund refunds amount fen of the order (0: all that is left) with the
// order service and waits for the n-th REFUND.SUCCESS notify to be delivered.
func (e *refundEnv) refund(t *testing.T, id string, amount int64, n int) {
	t.Helper()
	e.Clock.Advance(time.Second)
	req := order.RefundRequest{Reason: "退货"}
	if amount > 0 {
		req.Amount = &amount
	}
	if _, _, err := e.Orders.Refund(context.Background(), id, req, ""); err != nil {
		t.Fatalf("refund %d: %v", amount, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(e.WaitNotify(t, id, "REFUND.SUCCESS")) < n {
		if time.Now().After(deadline) {
			t.Fatalf("refund notify %d never came", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ledger is alice's ledger as "reason:delta", oldest first, and checks that
// the balance is its sum.
func (e *refundEnv) ledger(t *testing.T) string {
	t.Helper()
	entries, _, err := e.ps.Ledger(context.Background(), "alice", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("%s:%d", entries[i].Reason, entries[i].Delta))
	}
	bal, err := e.ps.Balance(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, en := range entries {
		sum += en.Delta
	}
	if sum != bal {
		t.Fatalf("balance %d, ledger sums to %d", bal, sum)
	}
	return fmt.Sprint(out, " = ", bal)
}

// TestRefundsTakeBackPoints: a partial refund takes back its share of the
// order's points (rounded), a second REFUND.SUCCESS delivery of it takes
// nothing more, and the full refund of the rest takes back exactly what is
// left of the credit: the order's points come to zero.
func TestRefundsTakeBackPoints(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newRefundEnv(t, b)
			id := e.paid(t)
			if got := e.ledger(t); got != "[order:119] = 119" {
				t.Fatalf("after payment: %s", got)
			}
			// 1,000 of 5,970 fen: 119 × 1000 / 5970 = 19.93 → 20 points.
			e.refund(t, id, 1000, 1)
			if got := e.ledger(t); got != "[order:119 refund:-20] = 99" {
				t.Fatalf("after the partial refund: %s", got)
			}
			first := e.WaitNotify(t, id, "REFUND.SUCCESS")
			for range 2 {
				if err := e.Emulator.Resend(first[0].ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(30 * time.Second)
			for len(e.WaitNotify(t, id, "REFUND.SUCCESS")) < 3 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			for _, d := range e.WaitNotify(t, id, "REFUND.SUCCESS") {
				if !d.Delivered {
					t.Fatalf("a refund notify was refused: %+v", d)
				}
			}
			if got := e.ledger(t); got != "[order:119 refund:-20] = 99" {
				t.Fatalf("after the refund notify came three times: %s", got)
			}
			e.refund(t, id, 0, 4) // the rest: 4,970 fen
			if got := e.ledger(t); got != "[order:119 refund:-20 refund:-99] = 0" {
				t.Fatalf("after the full refund: %s", got)
			}
			// A payment notify delivered again credits nothing back.
			pays := e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			if err := e.Emulator.Resend(pays[0].ID, ""); err != nil {
				t.Fatal(err)
			}
			for len(e.WaitNotify(t, id, "TRANSACTION.SUCCESS")) < 2 {
				time.Sleep(5 * time.Millisecond)
			}
			if got := e.ledger(t); got != "[order:119 refund:-20 refund:-99] = 0" {
				t.Fatalf("after the payment notify again: %s", got)
			}
		})
	}
}

// TestRefundOfSpentPoints: points already spent are taken back all the
// same; the balance goes negative and blocks redemptions (409
// negative_balance) until points earned elsewhere bring it back.
func TestRefundOfSpentPoints(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newRefundEnv(t, b)
			ctx := context.Background()
			id := e.paid(t)
			rw, _, err := e.ps.CreateReward(ctx, points.RewardInput{Title: "杯子", Points: 100, Stock: 5}, "")
			if err != nil {
				t.Fatal(err)
			}
			cheap, _, err := e.ps.CreateReward(ctx, points.RewardInput{Title: "贴纸", Points: 1, Stock: 5}, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ps.Redeem(ctx, "alice", rw.ID, ""); err != nil {
				t.Fatal(err)
			}
			e.refund(t, id, 0, 1) // advances the clock first
			if got := e.ledger(t); got != "[order:119 redeem:-100 refund:-119] = -100" {
				t.Fatalf("after the refund: %s", got)
			}
			_, err = e.ps.Redeem(ctx, "alice", cheap.ID, "")
			if apperr.KindOf(err) != apperr.Conflict || apperr.CodeOf(err) != "negative_balance" {
				t.Fatalf("redeem with a negative balance: %v, want 409 negative_balance", err)
			}
			codes, err := mint(ctx, e.ps, 101, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ps.Scan(ctx, "alice", codes[0], ""); err != nil {
				t.Fatal(err)
			}
			if r, err := e.ps.Redeem(ctx, "alice", cheap.ID, ""); err != nil || r.Balance != 0 {
				t.Fatalf("redeem with 1 point: %+v, %v", r, err)
			}
			_, err = e.ps.Redeem(ctx, "alice", cheap.ID, "")
			if apperr.CodeOf(err) != "insufficient_points" {
				t.Fatalf("redeem with 0 points: %v, want insufficient_points", err)
			}
		})
	}
}

// TestRefundBeforeCredit: the paid hook failed (so no points yet) and a
// partial refund succeeds before its retry. Nothing is taken back, and the
// credit that follows gives only the share of what was not refunded; a
// later full refund takes back exactly that.
func TestRefundBeforeCredit(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newRefundEnv(t, b)
			ctx := context.Background()
			e.SetOrders(func(o *order.Options) { o.Paid = nil }) // the hook does not get to run
			id := e.paid(t)
			e.refund(t, id, 1000, 1)
			if got := e.ledger(t); got != "[] = 0" {
				t.Fatalf("after a refund of an order never credited: %s", got)
			}
			o, err := e.Orders.Get(ctx, "alice", id)
			if err != nil {
				t.Fatal(err)
			}
			// The hook's retry (a payment notify delivered again).
			for i, want := range []int64{99, 0} {
				n, err := e.ps.CreditOrder(ctx, "alice", o.ID, o.TransactionID, o.Total)
				if err != nil || n != want {
					t.Fatalf("credit %d: %d, %v; want %d", i, n, err, want)
				}
			}
			if got := e.ledger(t); got != "[order:99] = 99" {
				t.Fatalf("after the late credit: %s", got)
			}
			e.refund(t, id, 0, 2)
			if got := e.ledger(t); got != "[order:99 refund:-99] = 0" {
				t.Fatalf("after the full refund: %s", got)
			}
		})
	}
}
