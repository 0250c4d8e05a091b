package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/minifn/minifn/shared/store"
)

// concurrencyCases race many writers on the same keys; run them with -race.
// They end with Close, which must fail later calls without a panic.
func concurrencyCases() []testCase {
	return []testCase{
		{"ConcurrentCounter", concurrentCounter},
		{"ConcurrentPutIfAbsent", concurrentPutIfAbsent},
		{"ConcurrentClaims", concurrentClaims},
		{"ConcurrentMixedOutcomes", concurrentMixedOutcomes},
		{"ConcurrentIfVersion", concurrentIfVersion},
		{"Close", closeStore},
	}
}

// race runs f(i) for i in [0, n) on n goroutines started together, and
// fails the test for any error that is not a condition failure on one of
// the ops listed in allowed. It returns which calls succeeded.
func (h *h) race(n int, allowed []int, f func(i int) error) []bool {
	h.Helper()
	ok := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			ok[i] = true
		case !errors.Is(err, store.ErrConditionFailed) || !slices.Contains(allowed, store.FailedOp(err)):
			h.Fatalf("call %d: %v; want success or a condition failure on an op in %v", i, err, allowed)
		}
	}
	return ok
}

func count(ok []bool) int {
	n := 0
	for _, b := range ok {
		if b {
			n++
		}
	}
	return n
}

func concurrentCounter(h *h) {
	k := key("campaign#c1", "stock")
	h.add(store.Add(k, 20))
	var seen sync.Map
	ok := h.race(50, []int{0}, func(int) error {
		n, err := h.st.Add(h.Context(), store.Add(k, -1).AtLeast(0))
		if err == nil {
			if _, dup := seen.LoadOrStore(n, true); dup {
				return fmt.Errorf("two Adds returned %d", n)
			}
		}
		return err
	})
	if got := count(ok); got != 20 {
		h.Fatalf("%d decrements succeeded; want 20", got)
	}
	h.wantItem(k, "", 0, 21)
}

func concurrentPutIfAbsent(h *h) {
	k := key("coupon#c1", "code#X")
	ok := h.race(50, []int{0}, func(i int) error {
		return h.st.Write(h.Context(), store.Put(store.Item{Key: k, Value: []byte(strconv.Itoa(i))}).IfAbsent())
	})
	if got := count(ok); got != 1 {
		h.Fatalf("%d Puts won; want 1", got)
	}
	for i, won := range ok {
		if won {
			h.wantItem(k, strconv.Itoa(i), 0, 1)
		}
	}
}

// concurrentClaims is a flash sale: 200 attempts by 100 users, each taking
// one of 30 in stock, at most one per user, each recording a coupon.
func concurrentClaims(h *h) {
	const attempts, users, stock = 200, 100, 30
	stockKey := key("campaign#c1", "stock")
	h.add(store.Add(stockKey, stock))
	user := func(i int) string { return fmt.Sprintf("u%03d", i%users) }
	ok := h.race(attempts, []int{0, 1}, func(i int) error {
		return h.st.Write(h.Context(),
			store.Add(stockKey, -1).AtLeast(0),
			store.Add(key("limit#c1", user(i)), 1).AtMost(1),
			store.Put(store.Item{Key: key("coupon#c1", fmt.Sprintf("%03d", i)), Value: []byte(user(i))}).IfAbsent(),
		)
	})
	if got := count(ok); got != stock {
		h.Fatalf("%d claims succeeded; want %d", got, stock)
	}
	h.wantItem(stockKey, "", 0, stock+1)

	coupons, _ := h.query("coupon#c1", store.Query{Limit: 1000})
	if len(coupons) != stock {
		h.Fatalf("%d coupons; want %d", len(coupons), stock)
	}
	winners := map[string]bool{}
	for _, c := range coupons {
		i, _ := strconv.Atoi(c.SK)
		if !ok[i] || string(c.Value) != user(i) {
			h.Fatalf("coupon %s (%s) belongs to no successful claim", c.SK, c.Value)
		}
		if winners[user(i)] {
			h.Fatalf("user %s got two coupons", user(i))
		}
		winners[user(i)] = true
	}
	limits, _ := h.query("limit#c1", store.Query{Limit: 1000})
	for _, l := range limits {
		if l.N != 1 || !winners[l.SK] {
			h.Fatalf("user %s limit counter = %d, won %v; only winners have one, at 1", l.SK, l.N, winners[l.SK])
		}
	}
	if len(limits) != stock {
		h.Fatalf("%d limit counters; want %d (failed claims write none)", len(limits), stock)
	}
}

// concurrentMixedOutcomes makes half of the concurrent Writes fail their
// condition: a backend that groups Writes must neither apply a failed
// Write's other ops nor lose the successful ones.
func concurrentMixedOutcomes(h *h) {
	const n = 100
	total := key("stats", "total")
	for i := 0; i < n; i += 2 {
		h.put(key("gate", strconv.Itoa(i)), "open")
	}
	ok := h.race(n, []int{1}, func(i int) error {
		return h.st.Write(h.Context(),
			store.Put(store.Item{Key: key("own", strconv.Itoa(i))}),
			store.Check(key("gate", strconv.Itoa(i))).IfExists(),
			store.Add(total, 1),
		)
	})
	for i, won := range ok {
		if won != (i%2 == 0) {
			h.Fatalf("Write %d succeeded = %v; want %v", i, won, i%2 == 0)
		}
		if won {
			h.wantItem(key("own", strconv.Itoa(i)), "", 0, 1)
		} else {
			h.absent(key("own", strconv.Itoa(i)))
		}
	}
	h.wantItem(total, "", n/2, n/2)
}

// concurrentIfVersion is optimistic locking: read, change, write back if the
// version is unchanged, retry otherwise. No increment may be lost.
func concurrentIfVersion(h *h) {
	const workers, each = 8, 5
	k := key("points#u1", "doc")
	h.put(k, "0")
	var retries atomic.Int64
	h.race(workers, nil, func(int) error {
		for done := 0; done < each; {
			it, err := h.st.Get(h.Context(), k)
			if err != nil {
				return err
			}
			v, err := strconv.Atoi(string(it.Value))
			if err != nil {
				return err
			}
			err = h.st.Write(h.Context(), store.Put(store.Item{Key: k, Value: []byte(strconv.Itoa(v + 1))}).IfVersion(it.Version))
			switch {
			case err == nil:
				done++
			case store.FailedOp(err) == 0:
				retries.Add(1)
			default:
				return err
			}
		}
		return nil
	})
	h.wantItem(k, strconv.Itoa(workers*each), 0, workers*each+1)
	h.Logf("%d retries", retries.Load())
}

func closeStore(h *h) {
	k := key("user#1", "profile")
	h.put(k, "v")
	if err := h.st.Close(); err != nil {
		h.Fatalf("Close: %v", err)
	}
	ctx := h.Context()
	if _, err := h.st.Get(ctx, k); err == nil || errors.Is(err, store.ErrNotFound) {
		h.Fatalf("Get after Close = %v; want an error other than ErrNotFound", err)
	}
	if _, _, err := h.st.Query(ctx, k.PK, store.Query{}); err == nil {
		h.Fatal("Query after Close succeeded")
	}
	if err := h.st.Write(ctx, store.Put(store.Item{Key: k})); err == nil || store.FailedOp(err) != -1 {
		h.Fatalf("Write after Close = %v; want an error", err)
	}
	if _, err := h.st.Add(ctx, store.Add(k, 1)); err == nil {
		h.Fatal("Add after Close succeeded")
	}
	h.st.Close() // a second Close must not panic
}
