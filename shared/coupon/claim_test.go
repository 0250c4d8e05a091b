package coupon_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestFlashSale is the rush: 500 users tap "claim" 3 times each, all at once,
// for 100 coupons. Exactly 100 are issued, nobody exceeds the limit, the
// stock ends at 0 and every code is unique; on every backend, with the stock
// in one counter or split over shards.
func TestFlashSale(t *testing.T) {
	const stock, users, taps = 100, 500, 3
	for _, b := range storetest.Backends(t) {
		for _, tc := range []struct {
			limit  int64
			shards int
		}{{1, 1}, {2, 8}, {2, 1}, {1, 8}} {
			if b.Name != "bolt" && tc.shards+int(tc.limit) == 3 {
				continue // both limits are covered; the network backends' emulators are slow
			}
			t.Run(fmt.Sprintf("%s/limit=%d/shards=%d", b.Name, tc.limit, tc.shards), func(t *testing.T) {
				clk := newClock()
				st := b.Open(t, clk.Now)
				svc := coupon.New(st, coupon.Options{Now: clk.Now})
				camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: stock, PerUserLimit: tc.limit, StockShards: tc.shards})

				type result struct {
					user string
					c    coupon.Coupon
					err  error
				}
				results := make([]result, users*taps)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range results {
					user := fmt.Sprintf("user%03d", i%users)
					wg.Go(func() {
						<-start
						c, _, err := svc.Claim(context.Background(), user, camp.ID, "")
						results[i] = result{user, c, err}
					})
				}
				close(start)
				wg.Wait()

				issued := map[string]int64{}
				ok, soldOut, limited := 0, 0, 0
				for _, r := range results {
					switch {
					case r.err == nil:
						ok++
						issued[r.user]++
					case errors.Is(r.err, coupon.ErrSoldOut):
						soldOut++
					case errors.Is(r.err, coupon.ErrLimitReached):
						limited++
					default:
						t.Fatalf("claim by %s: unexpected error %v", r.user, r.err)
					}
				}
				t.Logf("ok=%d sold_out=%d limit_reached=%d", ok, soldOut, limited)
				if ok != stock {
					t.Errorf("%d claims succeeded, want exactly %d", ok, stock)
				}

				// Read back through a fresh Service: nothing cached.
				fresh := coupon.New(st, coupon.Options{Now: clk.Now})
				v, err := fresh.Campaign(context.Background(), camp.ID)
				if err != nil {
					t.Fatal(err)
				}
				if v.Remaining != 0 || v.Status != coupon.StatusSoldOut {
					t.Errorf("remaining %d status %q, want 0 sold_out", v.Remaining, v.Status)
				}
				codes, ids, total := map[string]bool{}, map[string]bool{}, 0
				for u := range users {
					user := fmt.Sprintf("user%03d", u)
					list, err := fresh.Coupons(context.Background(), user, "")
					if err != nil {
						t.Fatal(err)
					}
					if int64(len(list)) > tc.limit {
						t.Errorf("%s holds %d coupons, limit %d", user, len(list), tc.limit)
					}
					if int64(len(list)) != issued[user] {
						t.Errorf("%s holds %d coupons, but %d claims succeeded", user, len(list), issued[user])
					}
					for _, c := range list {
						total++
						if codes[c.Code] || ids[c.ID] {
							t.Errorf("duplicate coupon %s / code %s", c.ID, c.Code)
						}
						codes[c.Code], ids[c.ID] = true, true
						if c.Status != coupon.Usable || c.CampaignID != camp.ID {
							t.Errorf("coupon %+v", c)
						}
					}
				}
				if total != stock {
					t.Errorf("%d coupons stored, want %d", total, stock)
				}
				redeemAll(t, fresh, codes)
			})
		}
	}
}

// redeemAll redeems every code twice at once: each must succeed exactly once.
func redeemAll(t *testing.T, svc *coupon.Service, codes map[string]bool) {
	t.Helper()
	var mu sync.Mutex
	used, again := 0, 0
	var wg sync.WaitGroup
	for code := range codes {
		for range 2 {
			wg.Go(func() {
				_, err := svc.Redeem(context.Background(), coupon.Redeemer{Admin: true}, code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					used++
				case errors.Is(err, coupon.ErrAlreadyUsed):
					again++
				default:
					t.Errorf("redeem %s: %v", code, err)
				}
			})
		}
	}
	wg.Wait()
	if used != len(codes) || again != len(codes) {
		t.Errorf("redeemed %d and refused %d of %d codes twice; want each exactly once", used, again, len(codes))
	}
}

// TestRefusalsWriteNothing: once a campaign is sold out, or a user is at the
// limit, a claim is refused by reads alone.
func TestRefusalsWriteNothing(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			cs := &countingStore{Store: b.Open(t, clk.Now)}
			svc := coupon.New(cs, coupon.Options{Now: clk.Now})
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 3, StockShards: 3, PerUserLimit: 1})
			ctx := context.Background()
			if _, _, err := svc.Claim(ctx, "alice", camp.ID, ""); err != nil {
				t.Fatal(err)
			}
			before := cs.writes.Load()
			if _, _, err := svc.Claim(ctx, "alice", camp.ID, ""); !errors.Is(err, coupon.ErrLimitReached) {
				t.Fatalf("second claim: %v, want limit_reached", err)
			}
			for _, u := range []string{"bob", "carol"} {
				if _, _, err := svc.Claim(ctx, u, camp.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			if got := cs.writes.Load() - before; got != 2 {
				t.Fatalf("%d writes for a limit refusal and two claims, want 2", got)
			}
			// A fresh Service (a new function instance) knows nothing in advance.
			for _, s := range []*coupon.Service{svc, coupon.New(cs, coupon.Options{Now: clk.Now})} {
				before = cs.writes.Load()
				if _, _, err := s.Claim(ctx, "dave", camp.ID, ""); !errors.Is(err, coupon.ErrSoldOut) {
					t.Fatalf("claim after sell-out: %v, want sold_out", err)
				}
				if got := cs.writes.Load() - before; got != 0 {
					t.Errorf("sold-out refusal made %d writes, want 0", got)
				}
			}
		})
	}
}

// TestClaimIdempotent: the same Idempotency-Key returns the first coupon and
// issues nothing more, even when the retries race.
func TestClaimIdempotent(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			svc := coupon.New(st, coupon.Options{Now: clk.Now})
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 10, PerUserLimit: 5})
			ctx := context.Background()
			var wg sync.WaitGroup
			ids := make([]string, 8)
			replays := make([]bool, 8)
			for i := range ids {
				wg.Go(func() {
					c, replayed, err := svc.Claim(ctx, "alice", camp.ID, "tap-1")
					if err != nil {
						t.Error(err)
					}
					ids[i], replays[i] = c.ID, replayed
				})
			}
			wg.Wait()
			firsts := 0
			for i := range ids {
				if ids[i] != ids[0] {
					t.Errorf("retry %d got coupon %s, first got %s", i, ids[i], ids[0])
				}
				if !replays[i] {
					firsts++
				}
			}
			if firsts != 1 {
				t.Errorf("%d calls created a coupon, want 1", firsts)
			}
			if c, _, err := svc.Claim(ctx, "alice", camp.ID, "tap-2"); err != nil || c.ID == ids[0] {
				t.Errorf("a new key: %v, coupon %s", err, c.ID)
			}
			// Another caller's identical key is another request.
			if c, replayed, err := svc.Claim(ctx, "bob", camp.ID, "tap-1"); err != nil || replayed || c.ID == ids[0] {
				t.Errorf("bob with alice's key: %v replayed=%v", err, replayed)
			}
			v, _ := coupon.New(st, coupon.Options{Now: clk.Now}).Campaign(ctx, camp.ID)
			if v.Remaining != 7 {
				t.Errorf("remaining %d, want 7", v.Remaining)
			}
		})
	}
}
