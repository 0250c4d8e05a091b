package bolt_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

func openBench(b *testing.B) *bolt.Store {
	b.Helper()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkWriteSingleKey is the disk floor: one Write at a time, so one
// fsync'd transaction each.
func BenchmarkWriteSingleKey(b *testing.B) {
	st := openBench(b)
	ctx := b.Context()
	k := store.Key{PK: "bench", SK: "key"}
	val := []byte(`{"status":"claimed"}`)
	for b.Loop() {
		if err := st.Write(ctx, store.Put(store.Item{Key: k, Value: val})); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkWriteParallel is a flash sale: about 200 goroutines each making
// 5-op claims (stock, per-user limit, coupon, code, idempotency record), so
// that DB.Batch groups them into shared transactions.
func BenchmarkWriteParallel(b *testing.B) {
	st := openBench(b)
	ctx := b.Context()
	stock := store.Key{PK: "campaign#bench", SK: "stock"}
	if err := st.Write(ctx, store.Add(stock, 1<<40)); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	val := []byte(`{"campaign":"bench","user":"u","status":"claimed","claimed_at":"2030-01-01T00:00:00Z"}`)
	exp := time.Now().Add(24 * time.Hour)
	b.SetParallelism(100) // × GOMAXPROCS (2 here) goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			user := fmt.Sprintf("u%09d", i)
			err := st.Write(ctx,
				store.Add(stock, -1).AtLeast(0),
				store.Add(store.Key{PK: "limit#bench", SK: user}, 1).AtMost(1),
				store.Put(store.Item{Key: store.Key{PK: "coupon#bench", SK: user}, Value: val}).IfAbsent(),
				store.Put(store.Item{Key: store.Key{PK: "code#" + user, SK: "code"}, Value: val}).IfAbsent(),
				store.Put(store.Item{Key: store.Key{PK: "idem#" + user, SK: "claim"}, Value: val, ExpiresAt: exp}).IfAbsent(),
			)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}
