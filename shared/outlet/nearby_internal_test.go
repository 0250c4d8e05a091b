package outlet

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

// counting counts what a store's reads return: the items of every Query
// and Get, and the Queries themselves (one per index cell read).
type counting struct {
	store.Store
	items, queries atomic.Int64
}

func (c *counting) Query(ctx context.Context, pk string, q store.Query) ([]store.Item, string, error) {
	items, next, err := c.Store.Query(ctx, pk, q)
	c.items.Add(int64(len(items)))
	c.queries.Add(1)
	return items, next, err
}

func (c *counting) Get(ctx context.Context, k store.Key) (store.Item, error) {
	it, err := c.Store.Get(ctx, k)
	if err == nil {
		c.items.Add(1)
	}
	return it, err
}

func openBolt(tb testing.TB) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "outlet.db"), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// load writes stores as Create does (the record and its index items, same
// layout), twenty to a Write so that 10,000 load in seconds.
func load(tb testing.TB, st store.Store, stores []Store) {
	tb.Helper()
	var ops []store.Op
	flush := func() {
		if len(ops) > 0 {
			if err := st.Write(context.Background(), ops...); err != nil {
				tb.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	for i := range stores {
		s := &stores[i]
		s.Version = 1
		b, _ := json.Marshal(s)
		if len(ops)+1+len(Levels) > store.MaxOps {
			flush()
		}
		ops = append(append(ops, store.Put(store.Item{Key: storeKey(s.ID), Value: b})), indexOps(nil, s, b)...)
	}
	flush()
}

// TestNearbyWorldwide checks Nearby against a brute-force scan where a
// grid is awkward: across the antimeridian, next to the poles, on the
// equator and the prime meridian, at every radius.
func TestNearbyWorldwide(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2))
	centres := [][2]float64{{0, 0}, {0, 180}, {0, -180}, {89.9, 10}, {-89.95, -100}, {65, 179.99}, {31.23, 121.47}, {-33.9, 18.4}}
	var stores []Store
	for i := range 600 {
		c := centres[i%len(centres)]
		// Within about 60 km of the centre: a degree of longitude shrinks
		// near the poles, so scale the spread by the latitude.
		lat := math.Max(-90, math.Min(90, c[0]+(rng.Float64()*2-1)*0.5))
		lng := c[1] + (rng.Float64()*2-1)*0.5/math.Max(0.05, math.Cos(rad(c[0])))
		lng = math.Mod(lng+540, 360) - 180
		status := Open
		if i%7 == 0 {
			status = Closed
		}
		stores = append(stores, Store{ID: fmt.Sprintf("s%04d", i), Name: "S", Address: "A", Lat: lat, Lng: lng, Status: status})
	}
	st := openBolt(t)
	load(t, st, stores)
	svc := New(st, Options{})
	for q := range 400 {
		c := centres[q%len(centres)]
		lat := math.Max(-90, math.Min(90, c[0]+(rng.Float64()*2-1)*0.3))
		lng := math.Mod(c[1]+(rng.Float64()*2-1)*0.3+540, 360) - 180
		nq := NearbyQuery{Lat: lat, Lng: lng, Radius: 10 * math.Pow(MaxRadius/10.0, rng.Float64()), Limit: 1 + rng.IntN(MaxResults), Closed: q%2 == 0}
		got, err := svc.Nearby(context.Background(), nq)
		if err != nil {
			t.Fatal(err)
		}
		var want []Near
		for _, s := range stores {
			if d := Distance(lat, lng, s.Lat, s.Lng); d <= nq.Radius && (s.Status == Open || nq.Closed) {
				want = append(want, Near{Store: s, Distance: d})
			}
		}
		slices.SortFunc(want, func(a, b Near) int { return cmp.Or(cmp.Compare(a.Distance, b.Distance), cmp.Compare(a.ID, b.ID)) })
		want = want[:min(len(want), nq.Limit)]
		if len(got) != len(want) {
			t.Fatalf("%+v: %d stores, want %d", nq, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].Distance != want[i].Distance {
				t.Fatalf("%+v: #%d is %s at %v m, want %s at %v m", nq, i, got[i].ID, got[i].Distance, want[i].ID, want[i].Distance)
			}
		}
	}
}

// TestCoverBounded: whatever the radius, a query reads few cells (MaxCells
// at the level it picks, up to latitude 80°), and only more on the
// coarsest level next to a pole.
func TestCoverBounded(t *testing.T) {
	for _, lat := range []float64{0, 18, 31, 45, 54, 70, 80} {
		for _, r := range []float64{1, 50, 300, 1000, 5000, 20000, MaxRadius} {
			if n := pickCover(lat, 100, r).count(); n > MaxCells {
				t.Errorf("lat %v, radius %v m: %d cells", lat, r, n)
			}
		}
	}
}

// BenchmarkNearby answers "stores within 1 km" on bbolt at constant
// density (16 stores per km², about 50 in the circle) as the number of
// stores grows 100-fold: the stores spread over a wider square. The cost
// (time, items read, cells read) follows the answer, which stays the same,
// not the store count.
func BenchmarkNearby(b *testing.B) {
	const density = 16.0 // stores per km²
	const radius = 1000.0
	for _, n := range []int{100, 1_000, 10_000} {
		b.Run(fmt.Sprintf("stores=%d", n), func(b *testing.B) {
			side := math.Sqrt(float64(n)/density) * 1000 // metres
			const lat0, lng0 = 31.23, 121.47
			mPerDegLat := EarthRadius * math.Pi / 180
			mPerDegLng := mPerDegLat * math.Cos(rad(lat0))
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			stores := make([]Store, n)
			for i := range stores {
				x, y := (rng.Float64()-0.5)*side, (rng.Float64()-0.5)*side
				stores[i] = Store{ID: fmt.Sprintf("s%05d", i), Name: "S", Address: "A", Status: Open,
					Lat: lat0 + y/mPerDegLat, Lng: lng0 + x/mPerDegLng, CreatedAt: time.Unix(0, 0)}
			}
			cs := &counting{Store: openBolt(b)}
			load(b, cs.Store, stores)
			svc := New(cs, Options{})
			// Query points within 1 km of the centre, so that every circle
			// lies inside the smallest square (2.5 km a side).
			points := make([][2]float64, 64)
			for i := range points {
				x, y := (rng.Float64()-0.5)*500, (rng.Float64()-0.5)*500
				points[i] = [2]float64{lat0 + y/mPerDegLat, lng0 + x/mPerDegLng}
			}
			cs.items.Store(0)
			cs.queries.Store(0)
			found := 0
			for i := 0; b.Loop(); i++ {
				p := points[i%len(points)]
				got, err := svc.Nearby(context.Background(), NearbyQuery{Lat: p[0], Lng: p[1], Radius: radius, Limit: MaxResults})
				if err != nil {
					b.Fatal(err)
				}
				found += len(got)
			}
			b.ReportMetric(float64(cs.items.Load())/float64(b.N), "items-read/op")
			b.ReportMetric(float64(cs.queries.Load())/float64(b.N), "cells/op")
			b.ReportMetric(float64(found)/float64(b.N), "stores-found/op")
		})
	}
}
