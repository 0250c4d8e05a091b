package coupon_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// orderKey stands for the order item that the order package writes in the
// same Write as the coupon's transition.
func orderKey(id string) store.Key { return store.Key{PK: "test#order", SK: id} }

// TestOrderTransitions walks a coupon through lock, consume and release,
// with each op list written together with an order item as the order
// package does.
func TestOrderTransitions(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			svc := coupon.New(st, coupon.Options{Now: clk.Now})
			ctx := context.Background()
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 5, PerUserLimit: 5, MinSpend: 3000,
				Discount: &coupon.Discount{PercentOff: 20, MaxOff: 1000}})
			c, _, err := svc.Claim(ctx, "alice", camp.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			write := func(order string, ops []store.Op) error {
				return st.Write(ctx, append(ops, store.Put(store.Item{Key: orderKey(order + clk.Now().String())}))...)
			}
			status := func() (coupon.Status, string) {
				got, err := svc.Coupon(ctx, "alice", c.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got.Status, got.OrderID
			}

			if _, _, err := svc.LockOps(ctx, "alice", c.ID, "o1", 2999); !errors.Is(err, coupon.ErrMinSpendNotMet) {
				t.Errorf("below min_spend: %v", err)
			}
			if _, _, err := svc.LockOps(ctx, "bob", c.ID, "o1", 5000); !errors.Is(err, coupon.ErrCouponNotFound) {
				t.Errorf("another user's coupon: %v", err)
			}
			ops, off, err := svc.LockOps(ctx, "alice", c.ID, "o1", 4000)
			if err != nil || off != 800 {
				t.Fatalf("lock: %d %v", off, err)
			}
			if err := write("o1", ops); err != nil {
				t.Fatal(err)
			}
			if s, o := status(); s != coupon.Locked || o != "o1" {
				t.Fatalf("after lock: %s %s", s, o)
			}
			// Again for the same order: idempotent, and still guarded.
			ops, off, err = svc.LockOps(ctx, "alice", c.ID, "o1", 9000)
			if err != nil || off != 1000 || write("o1", ops) != nil {
				t.Fatalf("relock same order: %d %v", off, err)
			}
			if _, _, err := svc.LockOps(ctx, "alice", c.ID, "o2", 5000); !errors.Is(err, coupon.ErrCouponUnusable) {
				t.Errorf("lock for another order: %v", err)
			}
			if _, err := svc.ConsumeOps(ctx, "alice", c.ID, "o2"); !errors.Is(err, coupon.ErrCouponUnusable) {
				t.Errorf("consume for another order: %v", err)
			}
			if _, err := svc.Redeem(ctx, coupon.Redeemer{Admin: true}, c.Code); !errors.Is(err, coupon.ErrCouponLocked) {
				t.Errorf("store redeem of a locked coupon: %v", err)
			}
			if ops, err := svc.ReleaseOps(ctx, "alice", c.ID, "o2"); err != nil || len(ops) != 0 {
				t.Errorf("release by another order: %v ops, %v", len(ops), err)
			}

			// Cancel: release, then lock again and pay.
			ops, err = svc.ReleaseOps(ctx, "alice", c.ID, "o1")
			if err != nil || write("o1", ops) != nil {
				t.Fatalf("release: %v", err)
			}
			if s, o := status(); s != coupon.Usable || o != "" {
				t.Fatalf("after release: %s %q", s, o)
			}
			if ops, err := svc.ReleaseOps(ctx, "alice", c.ID, "o1"); err != nil || len(ops) != 0 {
				t.Errorf("release twice: %d ops, %v", len(ops), err)
			}
			ops, _, err = svc.LockOps(ctx, "alice", c.ID, "o3", 5000)
			if err != nil || write("o3", ops) != nil {
				t.Fatalf("lock o3: %v", err)
			}
			// Payment arrives after the coupon's validity: still consumed.
			clk.Advance(8 * 24 * time.Hour)
			ops, err = svc.ConsumeOps(ctx, "alice", c.ID, "o3")
			if err != nil || write("o3", ops) != nil {
				t.Fatalf("consume: %v", err)
			}
			if s, _ := status(); s != coupon.Used {
				t.Fatalf("after consume: %s", s)
			}
			ops, err = svc.ConsumeOps(ctx, "alice", c.ID, "o3")
			if err != nil || len(ops) != 1 || ops[0].Kind != store.OpCheck || write("o3", ops) != nil {
				t.Errorf("consume twice: %v", err)
			}
			// Refund after expiry: released, and it reads as expired.
			ops, err = svc.ReleaseOps(ctx, "alice", c.ID, "o3")
			if err != nil || write("o3", ops) != nil {
				t.Fatalf("release after refund: %v", err)
			}
			if s, _ := status(); s != coupon.Expired {
				t.Errorf("after refund past validity: %s", s)
			}
			if _, _, err := svc.LockOps(ctx, "alice", c.ID, "o4", 5000); !errors.Is(err, coupon.ErrExpired) {
				t.Errorf("lock expired: %v", err)
			}
		})
	}
}

// TestLockRace: two orders built from the same read race to lock one
// coupon; their conditional ops let exactly one Write through.
func TestLockRace(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			svc := coupon.New(st, coupon.Options{Now: clk.Now})
			ctx := context.Background()
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 1})
			c, _, err := svc.Claim(ctx, "alice", camp.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			orders := []string{"o1", "o2", "o3", "o4"}
			opsOf := make([][]store.Op, len(orders))
			for i, o := range orders {
				if opsOf[i], _, err = svc.LockOps(ctx, "alice", c.ID, o, 5000); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, len(orders))
			for i, o := range orders {
				wg.Go(func() {
					errs[i] = st.Write(ctx, append(opsOf[i], store.Put(store.Item{Key: orderKey(o)}))...)
				})
			}
			wg.Wait()
			won := ""
			for i, err := range errs {
				switch {
				case err == nil:
					if won != "" {
						t.Errorf("both %s and %s locked the coupon", won, orders[i])
					}
					won = orders[i]
				case store.FailedOp(err) != 0:
					t.Errorf("%s failed with %v, want a condition failure on the coupon op", orders[i], err)
				}
			}
			got, _ := svc.Coupon(ctx, "alice", c.ID)
			if won == "" || got.OrderID != won {
				t.Errorf("winner %q, coupon held by %q", won, got.OrderID)
			}
		})
	}
}
