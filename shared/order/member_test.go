package order_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/member"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
)

// memberTiers: basic from 0, silver from 1500 fen (10% off), gold from
// 5000 fen (20% off, points ×2).
var memberTiers = []member.Tier{
	{ID: "basic", Name: "普通", MinGrowth: 0},
	{ID: "silver", Name: "银卡", MinGrowth: 1500, DiscountPercent: 10},
	{ID: "gold", Name: "金卡", MinGrowth: 5000, DiscountPercent: 20, PointsMultiplier: 2},
}

func memberEnv(t *testing.T, b storetest.Backend) (*ordertest.Env, *member.Service) {
	t.Helper()
	e := ordertest.New(t, b, ordertest.Options{TTL: 2 * time.Minute})
	ms := member.New(e.Store, member.Options{Now: e.Clock.Now})
	e.SetOrders(func(o *order.Options) { o.Members = ms })
	if _, err := ms.SetTiers(context.Background(), memberTiers); err != nil {
		t.Fatal(err)
	}
	return e, ms
}

func wantMember(t *testing.T, ms *member.Service, openid string, growth int64, tier string) {
	t.Helper()
	m, err := ms.Get(context.Background(), openid)
	if err != nil {
		t.Fatal(err)
	}
	if m.Growth != growth || m.Tier == nil || m.Tier.ID != tier {
		t.Fatalf("member %+v (tier %+v); want growth %d, tier %s", m, m.Tier, growth, tier)
	}
}

// resendAll delivers every notify sent so far once more, and waits for them.
func resendAll(t *testing.T, e *ordertest.Env, id string) {
	t.Helper()
	for _, d := range e.Emulator.Notifies() {
		if err := e.Emulator.Resend(d.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
}

// TestMemberGrowthExact: growth is the paid total less refunds, exactly,
// whatever notifies are delivered again; a refund lowers the tier.
func TestMemberGrowthExact(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, ms := memberEnv(t, b)
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		got, err := e.Orders.Create(ctx, "u1", line("tea", 2), "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		if got.Order.TierID != "basic" || got.Order.MemberDiscount != 0 || got.Order.Total != 2000 {
			t.Fatalf("created %+v", got.Order)
		}
		wantMember(t, ms, "u1", 0, "basic")
		if err := e.Emulator.Pay(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		resendAll(t, e, id)
		e.Clock.Advance(time.Minute) // a read after ReconcileAfter queries WeChat Pay too
		if o := mustGet(t, e, "u1", id); o.Status != order.Paid {
			t.Fatalf("order %+v", o)
		}
		wantMember(t, ms, "u1", 2000, "silver")
		if _, _, err := e.Orders.Refund(ctx, id, order.RefundRequest{Amount: ptr[int64](600), Reason: "r"}, ""); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, id, "REFUND.SUCCESS")
		resendAll(t, e, id)
		if o := mustGet(t, e, "u1", id); o.Refunded != 600 {
			t.Fatalf("order %+v", o)
		}
		wantMember(t, ms, "u1", 1400, "basic") // the refund lowered the tier
	})
}

// TestMemberDiscountBeforeCoupon: the tier's discount is its own line,
// taken before the coupon, whose min_spend applies to what it leaves.
func TestMemberDiscountBeforeCoupon(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, ms := memberEnv(t, b)
		ctx := context.Background()
		if err := e.Store.Write(ctx, member.GrowthOp("u1", 1500)); err != nil {
			t.Fatal(err)
		}
		wantMember(t, ms, "u1", 1500, "silver")
		e.Product(t, "tea", 1000, nil)
		tooHigh := e.Coupon(t, "u1", 100, 1900) // 2000 − 200 = 1800 < 1900
		req := line("tea", 2)
		req.CouponID = tooHigh.ID
		if _, err := e.Orders.Create(ctx, "u1", req, ""); !errors.Is(err, coupon.ErrMinSpendNotMet) {
			t.Fatalf("coupon with min_spend above the member price: %v", err)
		}
		ok := e.Coupon(t, "u1", 100, 1800)
		req.CouponID = ok.ID
		got, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil {
			t.Fatal(err)
		}
		o := got.Order
		if o.Subtotal != 2000 || o.MemberDiscount != 200 || o.TierID != "silver" || o.Discount != 100 || o.Total != 1700 || o.PointsMultiplier != 0 {
			t.Fatalf("order %+v; want 2000 − 200 (silver) − 100 (coupon) = 1700", o)
		}
		if err := e.Emulator.Pay(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, o.ID, "TRANSACTION.SUCCESS")
		wantMember(t, ms, "u1", 1500+1700, "silver") // growth counts what was paid
	})
}

// TestMemberTierChangeNextOrder: a change of the tiers (or of the user's
// tier) applies from the next order; an order keeps what its tier gave.
func TestMemberTierChangeNextOrder(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, ms := memberEnv(t, b)
		ctx := context.Background()
		if err := e.Store.Write(ctx, member.GrowthOp("u1", 5000)); err != nil {
			t.Fatal(err)
		}
		e.Product(t, "tea", 1000, nil)
		a, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		if a.Order.TierID != "gold" || a.Order.MemberDiscount != 200 || a.Order.PointsMultiplier != 2 || a.Order.Total != 800 {
			t.Fatalf("order a %+v", a.Order)
		}
		changed := append([]member.Tier(nil), memberTiers...)
		changed[2].DiscountPercent, changed[2].PointsMultiplier = 30, 3
		if _, err := ms.SetTiers(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if err := e.Emulator.Pay(ctx, a.Order.ID); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, a.Order.ID, "TRANSACTION.SUCCESS")
		if o := mustGet(t, e, "u1", a.Order.ID); o.Status != order.Paid || o.MemberDiscount != 200 || o.PointsMultiplier != 2 || o.Total != 800 {
			t.Fatalf("order a after the change %+v", o)
		}
		bo, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		if bo.Order.MemberDiscount != 300 || bo.Order.PointsMultiplier != 3 || bo.Order.Total != 700 {
			t.Fatalf("order b %+v; want the new gold terms", bo.Order)
		}
		wantMember(t, ms, "u1", 5800, "gold")
	})
}

// TestMemberConcurrentGrowth: paid orders confirmed concurrently (notifies
// and queries racing) add exactly their totals.
func TestMemberConcurrentGrowth(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, ms := memberEnv(t, b)
		ctx := context.Background()
		e.Product(t, "tea", 300, nil)
		const n = 8
		ids := make([]string, n)
		for i := range ids {
			got, err := e.Orders.Create(ctx, "u1", line("tea", int64(i+1)), "")
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = got.Order.ID
		}
		e.Clock.Advance(10 * time.Second) // past ReconcileAfter: a read queries WeChat Pay
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := e.Emulator.Pay(ctx, id); err != nil {
					t.Error(err)
				}
			}()
			go func() { // a read (a query) racing the notify
				defer wg.Done()
				if _, err := e.Orders.Get(ctx, "u1", id); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		}
		wantMember(t, ms, "u1", 300*(1+2+3+4+5+6+7+8), "gold")
	})
}

// TestMemberGrowthBalancePaid: an order the balance paid in full counts in
// growth once (no WeChat Pay notify), and its refunds (to the balance)
// subtract.
func TestMemberGrowthBalancePaid(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e, w, _ := balanceEnv(t, b, 5000)
		ms := member.New(e.Store, member.Options{Now: e.Clock.Now})
		e.SetOrders(func(o *order.Options) { o.Members = ms })
		ctx := context.Background()
		if _, err := ms.SetTiers(ctx, memberTiers); err != nil {
			t.Fatal(err)
		}
		e.Product(t, "tea", 1000, nil)
		req := line("tea", 2)
		req.UseBalance = true
		got, err := e.Orders.Create(ctx, "u1", req, "k1")
		if err != nil || got.Order.Status != order.Paid {
			t.Fatalf("created %+v %v", got.Order, err)
		}
		if again, err := e.Orders.Create(ctx, "u1", req, "k1"); err != nil || !again.Replayed { // a replay adds nothing
			t.Fatalf("replay %+v %v", again, err)
		}
		wantMember(t, ms, "u1", 2000, "silver")
		if _, _, err := e.Orders.Refund(ctx, got.Order.ID, order.RefundRequest{Amount: ptr[int64](700), Reason: "r"}, ""); err != nil {
			t.Fatal(err)
		}
		wantMember(t, ms, "u1", 1300, "basic")
		checkWallet(t, w, "u1", 3700)
	})
}
