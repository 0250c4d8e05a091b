package stats_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat"
	wxemu "github.com/minifn/minifn/shared/wechat/emulator"
)

// creditHook credits a paid order's points, as the orders function's hook does.
type creditHook struct{ ps *points.Service }

func (h creditHook) OrderPaid(ctx context.Context, owner string, o order.Order) error {
	_, err := h.ps.CreditOrder(ctx, owner, o.ID, o.TransactionID, o.Total)
	return err
}

// sum adds up the days of a report (an event may land either side of CST
// midnight while the test runs).
func sum(t *testing.T, st store.Store, now time.Time) stats.DayStats {
	t.Helper()
	rep, err := stats.Read(context.Background(), st, now, 2)
	if err != nil {
		t.Fatal(err)
	}
	var s stats.DayStats
	for _, d := range rep.Days {
		s.PaidOrders += d.PaidOrders
		s.Revenue += d.Revenue
		s.Refunds += d.Refunds
		s.Refunded += d.Refunded
		s.CouponsClaimed += d.CouponsClaimed
		s.CouponsRedeemed += d.CouponsRedeemed
		s.PointsEarned += d.PointsEarned
		s.NewUsers += d.NewUsers
	}
	return s
}

// TestOrderEventsCountedOnce: an order with a coupon, paid at the WeChat Pay
// emulator, its notify delivered three times; a refund of 500 fen, its
// REFUND.SUCCESS delivered twice; a coupon redeemed at the counter and
// redeemed again (refused); a point code scanned twice. Every counter
// counts each event once, on every backend.
func TestOrderEventsCountedOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := ordertest.New(t, b, ordertest.Options{})
			ps := points.New(e.Store, points.Options{Now: e.Clock.Now, PerYuan: 2})
			e.SetOrders(func(o *order.Options) { o.Paid, o.Points = creditHook{ps}, ps })
			ctx := context.Background()
			e.Product(t, "tea", 1990, nil)
			c := e.Coupon(t, "alice", 500, 0) // claims one
			created, err := e.Orders.Create(ctx, "alice", order.CreateRequest{
				Items: []order.LineRequest{{SKU: "tea", Quantity: 3}}, CouponID: c.ID}, "")
			if err != nil {
				t.Fatal(err)
			}
			id := created.Order.ID // 5,970 − 500 = 5,470 fen: 109 points
			if err := e.Emulator.Pay(ctx, id); err != nil {
				t.Fatal(err)
			}
			first := e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			for range 2 {
				if err := e.Emulator.Resend(first[0].ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(e.WaitNotify(t, id, "TRANSACTION.SUCCESS")); n != 3 {
				t.Fatalf("%d payment notifies, want 3", n)
			}

			e.Clock.Advance(time.Second)
			amount := int64(500)
			if _, _, err := e.Orders.Refund(ctx, id, order.RefundRequest{Reason: "退货", Amount: &amount}, ""); err != nil {
				t.Fatalf("refund: %v", err)
			}
			deadline := time.Now().Add(30 * time.Second)
			var refunds []string
			for {
				ds := e.WaitNotify(t, id, "REFUND.SUCCESS")
				if len(ds) > 0 {
					refunds = append(refunds, ds[0].ID)
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no REFUND.SUCCESS")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := e.Emulator.Resend(refunds[0], ""); err != nil {
				t.Fatal(err)
			}
			if n := len(e.WaitNotify(t, id, "REFUND.SUCCESS")); n != 2 {
				t.Fatalf("%d refund notifies, want 2", n)
			}

			// A second coupon, redeemed at the counter, twice.
			c2 := e.Coupon(t, "bob", 300, 0)
			if _, err := e.Coupons.Redeem(ctx, coupon.Redeemer{Admin: true}, c2.Code); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Coupons.Redeem(ctx, coupon.Redeemer{Admin: true}, c2.Code); err == nil {
				t.Fatal("a used coupon was redeemed again")
			}
			// A point code of 40, scanned twice.
			minted, err := ps.Mint(ctx, 40, 1, "")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				ps.Scan(ctx, "bob", minted.Codes[0], "")
			}

			got := sum(t, e.Store, e.Clock.Now())
			want := stats.DayStats{PaidOrders: 1, Revenue: 5470, Refunds: 1, Refunded: 500,
				CouponsClaimed: 2, CouponsRedeemed: 2, PointsEarned: 109 + 40}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("counters\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestNewUsersCounted: three logins of two users (one logs in twice, once
// with a second code) make two new users.
func TestNewUsersCounted(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clock := storetest.NewClock(cst(2, 9, 0))
			emu := wxemu.New(wxemu.Options{Now: clock.Now})
			srv := httptest.NewServer(emu.Handler())
			t.Cleanup(srv.Close)
			st := b.Open(t, clock.Now)
			wc := wechat.New(wechat.Config{AppID: wxemu.DevAppID, Secret: wxemu.DevSecret, BaseURL: srv.URL, Store: st, Now: clock.Now})
			svc := account.New(st, account.Options{WeChat: wc, Now: clock.Now})
			for _, name := range []string{"alice", "bob", "alice"} {
				code, _ := emu.MintCode(wxemu.DevAppID, name)
				if _, err := svc.Login(context.Background(), code); err != nil {
					t.Fatal(err)
				}
			}
			if got := sum(t, st, clock.Now()).NewUsers; got != 2 {
				t.Fatalf("new_users %d, want 2", got)
			}
		})
	}
}
