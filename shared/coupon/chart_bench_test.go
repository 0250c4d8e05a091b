package coupon_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store/storetest"
)

// chartLevels are the concurrency levels of the throughput chart.
var chartLevels = []int{1, 4, 16, 64, 256}

// BenchmarkFlashSaleConcurrency measures a flash sale's claim throughput
// (attempts/s: 3,000 attempts by 1,500 users on 300 coupons) against the
// number of concurrent callers, on every backend storetest.Backends finds
// (bbolt; DynamoDB through minidyn in-process; PostgreSQL when
// MINIFN_TEST_POSTGRES is set). With MINIFN_BENCH_SVG=FILE it also draws
// the chart of BENCHMARKS.md:
//
//	MINIFN_TEST_POSTGRES=postgres://… MINIFN_BENCH_SVG=$PWD/docs/benchmarks/flashsale.svg \
//	  go test ./shared/coupon -run '^$' -bench FlashSaleConcurrency -benchtime 3x
func BenchmarkFlashSaleConcurrency(b *testing.B) {
	results := map[string]map[int]float64{}
	var names []string
	for _, be := range storetest.Backends(b) {
		names = append(names, be.Name)
		results[be.Name] = map[int]float64{}
		for _, conc := range chartLevels {
			b.Run(fmt.Sprintf("%s/concurrency=%d", be.Name, conc), func(b *testing.B) {
				st := be.Open(b, time.Now)
				svc := coupon.New(st, coupon.Options{})
				sl := sale{stock: 300, attempts: 3000, concurrency: conc, users: 1500}
				var elapsed time.Duration
				var attempts int
				for b.Loop() {
					b.StopTimer()
					camp := mustCampaign(b, svc, coupon.CampaignInput{Stock: int64(sl.stock)})
					b.StartTimer()
					d, _, lat := rush(b, svc, st, camp.ID, false, sl)
					elapsed += d
					attempts += len(lat)
				}
				rate := float64(attempts) / elapsed.Seconds()
				results[be.Name][conc] = rate
				b.ReportMetric(rate, "attempts/s")
			})
		}
	}
	if path := os.Getenv("MINIFN_BENCH_SVG"); path != "" {
		if err := os.WriteFile(path, []byte(throughputSVG(names, results)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// throughputSVG draws attempts/s (log scale) against concurrency (log
// scale), one line per backend.
func throughputSVG(names []string, results map[string]map[int]float64) string {
	const w, h, left, right, top, bottom = 640, 400, 70, 150, 40, 50
	// A log scale: the backends differ by orders of magnitude.
	lo, hi := math.Inf(1), 1.0
	for _, r := range results {
		for _, v := range r {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	d0, d1 := math.Floor(math.Log10(math.Min(lo, hi))), math.Ceil(math.Log10(hi))
	if d1 <= d0 {
		d1 = d0 + 1
	}
	x := func(i int) float64 { return left + float64(i)*(w-left-right)/float64(len(chartLevels)-1) }
	y := func(v float64) float64 { return h - bottom - (math.Log10(v)-d0)/(d1-d0)*(h-top-bottom) }
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&s, `<text x="%d" y="22" font-size="14" font-weight="bold">Flash sale: claim attempts/s by concurrent callers</text>`+"\n", left)
	for d := d0; d <= d1; d++ {
		v := math.Pow(10, d)
		fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n",
			left, y(v), w-right, y(v), left-6, y(v)+4, v)
	}
	for i, c := range chartLevels {
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(i), h-bottom+18, c)
	}
	fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="middle">concurrent callers</text>`+"\n", (left+w-right)/2, h-12)
	fmt.Fprintf(&s, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">attempts/s (log scale)</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2)
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}
	for n, name := range names {
		var pts []string
		for i, c := range chartLevels {
			if v, ok := results[name][c]; ok {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			}
		}
		col := colors[n%len(colors)]
		fmt.Fprintf(&s, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(pts, " "))
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&s, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], col)
		}
		ly := top + 20 + n*20
		fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n",
			w-right+12, ly, w-right+32, ly, col, w-right+38, ly+4, name)
	}
	s.WriteString("</svg>\n")
	return s.String()
}
