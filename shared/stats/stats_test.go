package stats_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// cst is 2030-06-02 in China Standard Time at h:m.
func cst(day, h, m int) time.Time { return time.Date(2030, 6, day, h, m, 0, 0, stats.Zone) }

// TestDayIsChinaStandardTime: 16:00 UTC is midnight in Beijing.
func TestDayIsChinaStandardTime(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2030, 6, 1, 15, 59, 59, 0, time.UTC), "2030-06-01"},
		{time.Date(2030, 6, 1, 16, 0, 0, 0, time.UTC), "2030-06-02"},
		{time.Date(2030, 6, 2, 0, 30, 0, 0, time.FixedZone("PDT", -7*3600)), "2030-06-02"}, // 15:30 CST
		{cst(2, 23, 59), "2030-06-02"},
	} {
		if got := stats.Day(tc.at); got != tc.want {
			t.Errorf("Day(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

// event writes one event (a put-if-absent of its own item, as every real
// event's Write holds a condition that makes it happen once) with its
// counters. A repeat fails on the condition and counts nothing.
func event(ctx context.Context, st store.Store, id string, at time.Time, amount int64) error {
	err := st.Write(ctx,
		store.Put(store.Item{Key: store.Key{PK: "test#event#" + id, SK: "e"}, Value: []byte("1")}).IfAbsent(),
		stats.Op(stats.PaidOrders, at, id, 1), stats.Op(stats.Revenue, at, id, amount))
	if errors.Is(err, store.ErrConditionFailed) {
		return nil
	}
	return err
}

// TestConcurrentEventsExact: 600 events over two days, each delivered three
// times by 24 writers at once (a notify and its retries). Every day's counts
// and sums are exact on every backend, and the events spread over the shards.
func TestConcurrentEventsExact(t *testing.T) {
	const events, deliveries, writers = 600, 3, 24
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			now := cst(2, 12, 0)
			st := b.Open(t, func() time.Time { return now })
			ctx := context.Background()
			type ev struct {
				id     string
				at     time.Time
				amount int64
			}
			var all []ev
			want := map[string][2]int64{}
			for i := range events {
				// Either side of midnight, CST: 23:59 on the 1st, 00:00 on the 2nd.
				at := cst(1, 23, 59)
				if i%2 == 1 {
					at = cst(2, 0, 0)
				}
				e := ev{fmt.Sprintf("%012x%016x", i, i*7919), at, int64(100 + i)}
				all = append(all, e)
				w := want[stats.Day(at)]
				want[stats.Day(at)] = [2]int64{w[0] + 1, w[1] + e.amount}
			}
			work := make(chan ev)
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for e := range work {
						if err := event(ctx, st, e.id, e.at, e.amount); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			for range deliveries {
				for _, e := range all {
					work <- e
				}
			}
			close(work)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			rep, err := stats.Read(ctx, st, now, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Days) != 3 || rep.Days[0].Day != "2030-05-31" || rep.Days[2].Day != "2030-06-02" {
				t.Fatalf("days %+v", rep.Days)
			}
			for _, d := range rep.Days {
				if w := want[d.Day]; d.PaidOrders != w[0] || d.Revenue != w[1] {
					t.Errorf("%s: %d orders, %d fen; want %d, %d", d.Day, d.PaidOrders, d.Revenue, w[0], w[1])
				}
			}
			// The shards in use: 300 events a day over 64 shards leave
			// practically none unused (each is empty with p ≈ 1%).
			used := 0
			for sh := range stats.Shards {
				items, _, err := st.Query(ctx, fmt.Sprintf("stats#%02d", sh), store.Query{})
				if err != nil {
					t.Fatal(err)
				}
				if len(items) > 0 {
					used++
				}
			}
			if used < stats.Shards*3/4 {
				t.Errorf("%d of %d shards used", used, stats.Shards)
			}
		})
	}
}

// TestFlashSaleClaimsCounted: 400 claims at once on a campaign of 300 in 8
// stock shards: the day's coupons_claimed is exactly the coupons issued.
func TestFlashSaleClaimsCounted(t *testing.T) {
	const stock, users = 300, 400
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := storetest.NewClock(cst(2, 10, 0))
			st := b.Open(t, clk.Now)
			svc := coupon.New(st, coupon.Options{Now: clk.Now})
			camp, _, err := svc.CreateCampaign(context.Background(), coupon.CampaignInput{
				Title: "flash", Discount: &coupon.Discount{AmountOff: 500}, Stock: stock, PerUserLimit: 1,
				StockShards: 8, ValidDays: 7}, "")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			issued := 0
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range users {
				wg.Go(func() {
					<-start
					_, _, err := svc.Claim(context.Background(), fmt.Sprintf("user%03d", i), camp.ID, "")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						issued++
					case !errors.Is(err, coupon.ErrSoldOut):
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if issued != stock {
				t.Fatalf("%d issued, want %d", issued, stock)
			}
			rep, err := stats.Read(context.Background(), st, clk.Now(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Days[0].CouponsClaimed; got != int64(issued) {
				t.Fatalf("coupons_claimed %d, want %d", got, issued)
			}
		})
	}
}

// TestReadRange: only the days asked for are summed (not the day before,
// not an event dated after now), and the range is bounded.
func TestReadRange(t *testing.T) {
	b := storetest.Backends(t)[0]
	now := cst(14, 9, 0)
	st := b.Open(t, func() time.Time { return now })
	ctx := context.Background()
	for _, e := range []struct {
		id string
		at time.Time
	}{{"before", cst(1, 23, 0)}, {"first", cst(2, 0, 0)}, {"today", cst(14, 8, 0)}, {"later", cst(15, 1, 0)}} {
		if err := event(ctx, st, e.id, e.at, 1000); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := stats.Read(ctx, st, now, 13)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Days[0].Day != "2030-06-02" || rep.Days[0].PaidOrders != 1 || rep.Days[12].PaidOrders != 1 {
		t.Fatalf("first %+v, last %+v", rep.Days[0], rep.Days[12])
	}
	var n int64
	for _, d := range rep.Days {
		n += d.PaidOrders
	}
	if n != 2 {
		t.Fatalf("%d orders in range, want 2", n)
	}
	for _, days := range []int{0, -1, stats.MaxDays + 1} {
		if _, err := stats.Read(ctx, st, now, days); !errors.Is(err, stats.ErrDays) {
			t.Errorf("days=%d: %v", days, err)
		}
	}
}

// TestSceneUsers: a scene's counter is read back under that scene, and an
// empty scene writes nothing.
func TestSceneUsers(t *testing.T) {
	b := storetest.Backends(t)[0]
	now := cst(2, 9, 0)
	st := b.Open(t, func() time.Time { return now })
	ctx := context.Background()
	if _, ok := stats.SceneOp("", now, "u0"); ok {
		t.Fatal("an empty scene made an op")
	}
	for i, sc := range []string{"aB3kZ9xQ1pLm", "aB3kZ9xQ1pLm", "Qq7"} {
		op, _ := stats.SceneOp(sc, now, fmt.Sprintf("user%d", i))
		if err := st.Write(ctx, op, stats.Op(stats.NewUsers, now, fmt.Sprintf("user%d", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := stats.Read(ctx, st, now, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Days[0]
	if d.NewUsers != 3 || d.SceneUsers["aB3kZ9xQ1pLm"] != 2 || d.SceneUsers["Qq7"] != 1 || len(d.SceneUsers) != 2 {
		t.Fatalf("%+v", d)
	}
}
