package coupon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

// sale is the shape of one rush.
type sale struct {
	stock, attempts, concurrency, users int // users tap attempts/users times each; per_user_limit 1
}

// issueSale is the issue's: 1,000 coupons, 20,000 attempts, 200 at once.
var issueSale = sale{stock: 1000, attempts: 20_000, concurrency: 200, users: 10_000}

// BenchmarkFlashSale measures the rush on one bbolt file: 1,000 coupons,
// 20,000 claim attempts from 200 concurrent callers. One op is one whole
// sale. It reports claim attempts/s, the p50 and p99 latency of one attempt,
// and the same disk's floor, sequential single-key bbolt write transactions
// (one fsync each), measured in the same run, with the ratio between them.
//
//	go test ./shared/coupon -run '^$' -bench FlashSale -benchtime 5x
func BenchmarkFlashSale(b *testing.B) {
	dir := b.TempDir()
	floor := diskFloor(b, filepath.Join(dir, "floor.db"), 500)
	b.Run("disk-floor", func(b *testing.B) { // one op: 200 sequential transactions
		var sum float64
		for b.Loop() {
			sum += diskFloor(b, filepath.Join(dir, "floor2.db"), 200)
		}
		b.ReportMetric(sum/float64(b.N), "tx/s")
	})
	for _, v := range []struct {
		shards int
		cold   bool
	}{{1, false}, {8, false}, {1, true}} {
		name := fmt.Sprintf("bolt/shards=%d", v.shards)
		if v.cold {
			name += "/cold"
		}
		b.Run(name, func(b *testing.B) {
			st, err := bolt.Open(filepath.Join(dir, fmt.Sprintf("sale%d%v.db", v.shards, v.cold)), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := coupon.New(st, coupon.Options{})
			var lat []time.Duration
			var elapsed, sellout time.Duration
			for b.Loop() {
				b.StopTimer()
				camp := mustCampaign(b, svc, coupon.CampaignInput{Stock: int64(issueSale.stock), StockShards: v.shards})
				b.StartTimer()
				d, last, l := rush(b, svc, st, camp.ID, v.cold, issueSale)
				elapsed, sellout = elapsed+d, sellout+last
				lat = append(lat, l...)
			}
			slices.Sort(lat)
			rate := float64(len(lat)) / elapsed.Seconds()
			b.ReportMetric(rate, "attempts/s")
			b.ReportMetric(float64(sellout.Milliseconds())/float64(len(lat)/issueSale.attempts), "sellout-ms")
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e6, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e6, "p99-ms")
			b.ReportMetric(floor, "floor-tx/s")
			b.ReportMetric(rate/floor, "x-floor")
		})
	}
}

// rush runs one sale and returns its wall time, the time at which the last
// coupon was issued, and every attempt's latency. It fails the benchmark
// unless exactly sl.stock coupons were issued. cold gives every attempt a
// new Service, as if each landed on a fresh function instance: nothing is
// known in advance, so every refusal costs its reads.
func rush(b *testing.B, svc *coupon.Service, st store.Store, campaignID string, cold bool, sl sale) (time.Duration, time.Duration, []time.Duration) {
	lat := make([]time.Duration, sl.attempts)
	var next, issued, lastIssue atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range sl.concurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(sl.attempts); i = next.Add(1) - 1 {
				t0 := time.Now()
				s := svc
				if cold {
					s = coupon.New(st, coupon.Options{})
				}
				_, _, err := s.Claim(context.Background(), fmt.Sprintf("bench%05d", i%int64(sl.users)), campaignID, "")
				lat[i] = time.Since(t0)
				switch {
				case err == nil:
					issued.Add(1)
					lastIssue.Store(int64(time.Since(start)))
				case errors.Is(err, coupon.ErrSoldOut), errors.Is(err, coupon.ErrLimitReached):
				default:
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	if issued.Load() != int64(sl.stock) {
		b.Fatalf("%d coupons issued, want %d", issued.Load(), sl.stock)
	}
	return d, time.Duration(lastIssue.Load()), lat
}

// diskFloor returns how many sequential single-key bbolt write transactions
// per second this disk commits: the cost of one fsync, which is what a
// claim would cost if writes were not grouped.
func diskFloor(b *testing.B, path string, n int) float64 {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	for i := range n {
		err := db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("floor"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("stock"), fmt.Appendf(nil, "%d", i))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
