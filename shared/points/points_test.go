package points_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/store/storetest"
)

func each(t *testing.T, f func(t *testing.T, ps *points.Service)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := storetest.NewClock(storetest.Epoch)
			st := b.Open(t, clk.Now)
			ps := points.New(st, points.Options{Now: clk.Now, PerYuan: 1})
			f(t, ps)
		})
	}
}

// ledgerSum checks the invariant: the balance equals the ledger's sum, and is never negative.
func ledgerSum(t *testing.T, ps *points.Service, openid string) int64 {
	t.Helper()
	ctx := context.Background()
	var sum int64
	after := ""
	for {
		page, next, err := ps.Ledger(ctx, openid, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			sum += e.Delta
		}
		if next == "" {
			break
		}
		after = next
	}
	bal, err := ps.Balance(ctx, openid)
	if err != nil {
		t.Fatal(err)
	}
	if bal != sum || bal < 0 {
		t.Fatalf("%s: balance %d, ledger sum %d", openid, bal, sum)
	}
	return bal
}

func TestScanOnceUnderConcurrency(t *testing.T) {
	each(t, func(t *testing.T, ps *points.Service) {
		ctx := context.Background()
		codes, err := mint(ctx, ps, 50, 1)
		if err != nil || len(codes) != 1 {
			t.Fatalf("mint: %v %v", codes, err)
		}
		var wins, used int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := ps.Scan(ctx, fmt.Sprintf("user%d", i%7), codes[0], "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, points.ErrAlreadyUsed):
					used++
				default:
					t.Errorf("scan: %v", err)
				}
			}(i)
		}
		wg.Wait()
		if wins != 1 || used != 99 {
			t.Fatalf("%d credited, %d already_used; want 1 and 99", wins, used)
		}
		var total int64
		for i := 0; i < 7; i++ {
			total += ledgerSum(t, ps, fmt.Sprintf("user%d", i))
		}
		if total != 50 {
			t.Fatalf("%d points credited in all, want 50", total)
		}
	})
}

func TestScanErrorsAndIdempotency(t *testing.T) {
	each(t, func(t *testing.T, ps *points.Service) {
		ctx := context.Background()
		codes, _ := mint(ctx, ps, 10, 3)
		if _, err := ps.Scan(ctx, "u", "0000000000000000", ""); !errors.Is(err, points.ErrCodeNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		first, err := ps.Scan(ctx, "u", codes[0], "key-1")
		if err != nil || first.Earned != 10 || first.Balance != 10 {
			t.Fatalf("scan: %+v %v", first, err)
		}
		again, err := ps.Scan(ctx, "u", codes[0], "key-1")
		if err != nil || !again.Replayed || again.Earned != 10 {
			t.Fatalf("replay: %+v %v", again, err)
		}
		if _, err := ps.Scan(ctx, "u", codes[0], "key-2"); !errors.Is(err, points.ErrAlreadyUsed) {
			t.Errorf("second scan: %v", err)
		}
		// Scanned codes are case- and look-alike-insensitive.
		lower := []byte(codes[1])
		for i := range lower {
			if lower[i] >= 'A' && lower[i] <= 'Z' {
				lower[i] += 'a' - 'A'
			}
		}
		if s, err := ps.Scan(ctx, "u", string(lower), ""); err != nil || s.Balance != 20 {
			t.Errorf("lower-case scan: %+v %v", s, err)
		}
		ledgerSum(t, ps, "u")
	})
}

func TestRedeemNeverBelowZero(t *testing.T) {
	each(t, func(t *testing.T, ps *points.Service) {
		ctx := context.Background()
		// 95 points; rewards cost 10: at most 9 redemptions by balance. A
		// second reward with stock 3 limits by stock.
		codes, _ := mint(ctx, ps, 95, 1)
		if _, err := ps.Scan(ctx, "alice", codes[0], ""); err != nil {
			t.Fatal(err)
		}
		cheap, _, err := ps.CreateReward(ctx, points.RewardInput{Title: "Coffee", Points: 10, Stock: 100}, "")
		if err != nil {
			t.Fatal(err)
		}
		scarce, _, _ := ps.CreateReward(ctx, points.RewardInput{Title: "Mug", Points: 1, Stock: 3}, "")
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				id := cheap.ID
				if i%2 == 1 {
					id = scarce.ID
				}
				_, err := ps.Redeem(ctx, "alice", id, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					got[id]++
				case errors.Is(err, points.ErrInsufficient), errors.Is(err, points.ErrOutOfStock):
					got["refused"]++
				default:
					t.Errorf("redeem: %v", err)
				}
			}(i)
		}
		wg.Wait()
		bal := ledgerSum(t, ps, "alice")
		if got[scarce.ID] != 3 {
			t.Errorf("%d mugs, want exactly 3 (the stock)", got[scarce.ID])
		}
		if spent := int64(got[cheap.ID])*10 + int64(got[scarce.ID]); bal != 95-spent || bal >= 10 {
			t.Errorf("balance %d after %d coffees and %d mugs", bal, got[cheap.ID], got[scarce.ID])
		}
		list, _ := ps.Rewards(ctx)
		for _, r := range list {
			if r.Stock < 0 || (r.ID == scarce.ID && r.Stock != 0) || (r.ID == cheap.ID && r.Stock != 100-int64(got[cheap.ID])) {
				t.Errorf("reward %s stock %d", r.Title, r.Stock)
			}
		}
		if _, err := ps.Redeem(ctx, "bob", cheap.ID, ""); !errors.Is(err, points.ErrInsufficient) {
			t.Errorf("bob with no points: %v", err)
		}
		if _, err := ps.Redeem(ctx, "alice", "nope", ""); !errors.Is(err, points.ErrRewardNotFound) {
			t.Errorf("unknown reward: %v", err)
		}
	})
}

func TestRedeemIdempotent(t *testing.T) {
	each(t, func(t *testing.T, ps *points.Service) {
		ctx := context.Background()
		codes, _ := mint(ctx, ps, 30, 1)
		ps.Scan(ctx, "alice", codes[0], "")
		rw, _, _ := ps.CreateReward(ctx, points.RewardInput{Title: "Tea", Points: 10, Stock: 5}, "")
		a, err := ps.Redeem(ctx, "alice", rw.ID, "k")
		if err != nil || a.Balance != 20 {
			t.Fatalf("%+v %v", a, err)
		}
		b, err := ps.Redeem(ctx, "alice", rw.ID, "k")
		if err != nil || !b.Replayed || b.Redemption.ID != a.Redemption.ID || b.Balance != 20 {
			t.Fatalf("replay %+v %v", b, err)
		}
		ledgerSum(t, ps, "alice")
	})
}

func TestCreditOrderOnce(t *testing.T) {
	each(t, func(t *testing.T, ps *points.Service) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := ps.CreditOrder(ctx, "alice", "order1", "tx-1", 12345); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if bal := ledgerSum(t, ps, "alice"); bal != 123 {
			t.Fatalf("balance %d, want 123 (12345 fen at 1 point per yuan)", bal)
		}
	})
}

func TestValidation(t *testing.T) {
	each(t, func(t *testing.T, ps *points.Service) {
		ctx := context.Background()
		for _, c := range []struct {
			pts   int64
			count int
		}{{0, 1}, {1, 0}, {points.MaxCodePoints + 1, 1}, {1, points.MaxBatch + 1}} {
			if _, err := ps.Mint(ctx, c.pts, c.count, ""); err == nil {
				t.Errorf("Mint(%d, %d) accepted", c.pts, c.count)
			}
		}
		codes, err := mint(ctx, ps, 1, 250) // three Writes
		if err != nil || len(codes) != 250 {
			t.Fatalf("%d codes, %v", len(codes), err)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if seen[c] || !points.ValidCode(c) {
				t.Fatalf("code %q repeated or malformed", c)
			}
			seen[c] = true
		}
		if _, _, err := ps.CreateReward(ctx, points.RewardInput{Title: "", Points: 1}, ""); err == nil {
			t.Error("reward without title accepted")
		}
	})
}

// mint is Mint without an Idempotency-Key, returning the codes.
func mint(ctx context.Context, ps *points.Service, pts int64, count int) ([]string, error) {
	m, err := ps.Mint(ctx, pts, count, "")
	return m.Codes, err
}
