package coupon_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store/storetest"
)

// BenchmarkFlashSaleBackends runs one smaller sale on every backend
// available (bbolt; DynamoDB's protocol through minidyn in-process, which is
// an emulator and not DynamoDB's speed; PostgreSQL when MINIFN_TEST_POSTGRES
// is set), at several concurrencies: 200 coupons, 4,000 attempts from 2,000
// users. It reports claim attempts/s and the p50/p99 of one attempt.
//
//	MINIFN_TEST_POSTGRES=postgres://… go test ./shared/coupon -run '^$' -bench FlashSaleBackends -benchtime 2x
func BenchmarkFlashSaleBackends(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		for _, conc := range []int{1, 10, 50, 200} {
			b.Run(fmt.Sprintf("%s/concurrency=%d", be.Name, conc), func(b *testing.B) {
				sl := sale{stock: 200, attempts: 4000, concurrency: conc, users: 2000}
				var lat []time.Duration
				var elapsed time.Duration
				for b.Loop() {
					b.StopTimer()
					st := be.Open(b, time.Now)
					svc := coupon.New(st, coupon.Options{})
					camp := mustCampaign(b, svc, coupon.CampaignInput{Stock: int64(sl.stock)})
					b.StartTimer()
					d, _, l := rush(b, svc, st, camp.ID, false, sl)
					elapsed += d
					lat = append(lat, l...)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "attempts/s")
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e6, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e6, "p99-ms")
			})
		}
	}
}
