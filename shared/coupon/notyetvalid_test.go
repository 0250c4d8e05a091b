package coupon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestNotYetValid: a coupon claimed before its valid_from can neither be
// locked to an order nor redeemed at a counter until valid_from, and then
// both work. Each refusal leaves the coupon usable.
func TestNotYetValid(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			svc := coupon.New(st, coupon.Options{Now: clk.Now})
			ctx := context.Background()
			from := clk.Now().Add(time.Hour)
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 5, PerUserLimit: 5,
				ValidFrom: from.Format(time.RFC3339), ValidUntil: from.Add(48 * time.Hour).Format(time.RFC3339)})
			claim := func() coupon.Coupon {
				t.Helper()
				c, _, err := svc.Claim(ctx, "alice", camp.ID, "")
				if err != nil {
					t.Fatal(err)
				}
				if !c.ValidFrom.Equal(from) || c.Status != coupon.Usable {
					t.Fatalf("claimed %+v, want usable from %s", c, from)
				}
				return c
			}
			forOrder, atCounter := claim(), claim()
			status := func(id string) coupon.Status {
				t.Helper()
				c, err := svc.Coupon(ctx, "alice", id)
				if err != nil {
					t.Fatal(err)
				}
				return c.Status
			}

			// One minute before valid_from: refused, both ways.
			clk.Advance(59 * time.Minute)
			if ops, off, err := svc.LockOps(ctx, "alice", forOrder.ID, "o1", 5000); !errors.Is(err, coupon.ErrNotYetValid) {
				t.Errorf("lock before valid_from: %d ops, %d off, %v; want coupon_not_yet_valid", len(ops), off, err)
			}
			if c, err := svc.Redeem(ctx, coupon.Redeemer{Admin: true}, atCounter.Code); !errors.Is(err, coupon.ErrNotYetValid) {
				t.Errorf("redeem before valid_from: %+v, %v; want coupon_not_yet_valid", c, err)
			}
			if s1, s2 := status(forOrder.ID), status(atCounter.ID); s1 != coupon.Usable || s2 != coupon.Usable {
				t.Fatalf("after refusals: %s and %s, want usable", s1, s2)
			}

			// At valid_from: both work.
			clk.Advance(time.Minute)
			ops, off, err := svc.LockOps(ctx, "alice", forOrder.ID, "o1", 5000)
			if err != nil || off != 1000 {
				t.Fatalf("lock at valid_from: %d off, %v", off, err)
			}
			if err := st.Write(ctx, append(ops, store.Put(store.Item{Key: orderKey("o1")}))...); err != nil {
				t.Fatal(err)
			}
			if c, err := svc.Redeem(ctx, coupon.Redeemer{Admin: true}, atCounter.Code); err != nil || c.Status != coupon.Used {
				t.Fatalf("redeem at valid_from: %+v, %v", c, err)
			}
			if s1, s2 := status(forOrder.ID), status(atCounter.ID); s1 != coupon.Locked || s2 != coupon.Used {
				t.Fatalf("after valid_from: %s and %s, want locked and used", s1, s2)
			}
		})
	}
}
