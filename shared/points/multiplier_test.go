package points_test

import (
	"context"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestCreditOrderTimes: a membership tier's multiplier multiplies an
// order's points once, however often the credit is told, and a refund takes
// back its share of what was credited, multiplier included.
func TestCreditOrderTimes(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			now := func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }
			st := b.Open(t, now)
			ps := points.New(st, points.Options{Now: now, PerYuan: 1})
			ctx := context.Background()
			for range 3 { // the paid hook told three times
				if _, err := ps.CreditOrderTimes(ctx, "alice", "o1", "tx-1", 5000, 3); err != nil {
					t.Fatal(err)
				}
			}
			if bal, err := ps.Balance(ctx, "alice"); err != nil || bal != 150 {
				t.Fatalf("balance %d, %v; want 50 points × 3", bal, err)
			}
			ops, err := ps.RefundOps(ctx, "alice", "o1", "tx-1", 5000, 2500)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Write(ctx, ops...); err != nil {
				t.Fatal(err)
			}
			if bal, err := ps.Balance(ctx, "alice"); err != nil || bal != 75 {
				t.Fatalf("balance %d, %v after half refunded; want 75", bal, err)
			}
		})
	}
}
