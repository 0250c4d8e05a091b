package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// expiryCases cover items that are absent from their ExpiresAt on, for
// every read and every condition, whether or not the backend removed them.
func expiryCases() []testCase {
	return []testCase{
		{"ExpiryBoundary", expiryBoundary},
		{"IfAbsentOverExpired", ifAbsentOverExpired},
		{"AddOverExpired", addOverExpired},
		{"AddExpiry", addExpiry},
		{"RateLimitWindow", rateLimitWindow},
		{"PutAlreadyExpired", putAlreadyExpired},
		{"DeleteExpired", deleteExpired},
		{"QuerySkipsExpired", querySkipsExpired},
	}
}

func expiryBoundary(h *h) {
	k := key("idem#u1", "claim#abc")
	exp := h.clk.Now().Add(10 * time.Second)
	h.write(store.Put(store.Item{Key: k, Value: []byte("v"), N: 3, ExpiresAt: exp}))
	h.clk.Advance(9 * time.Second)
	h.wantItem(k, "v", 3, 1)
	h.write(store.Check(k).IfExists().AtLeast(3))
	h.clk.Advance(999 * time.Millisecond)
	h.wantItem(k, "v", 3, 1)

	h.clk.Set(exp) // at ExpiresAt the item is gone
	h.absent(k)
	if items, _ := h.query(k.PK, store.Query{}); len(items) != 0 {
		h.Fatalf("Query at ExpiresAt returned %v", sks(items))
	}
	h.failsAt(0, store.Check(k).IfExists())
	h.failsAt(0, store.Check(k).IfVersion(1))
	h.failsAt(0, store.Check(k).AtLeast(1)) // counts as 0
	h.failsAt(0, store.Put(store.Item{Key: k}).IfExists())
	h.failsAt(0, store.Delete(k).IfExists())
	h.write(store.Check(k).IfAbsent().AtMost(0))

	h.clk.Advance(time.Hour)
	h.absent(k)
}

func ifAbsentOverExpired(h *h) {
	k := key("idem#u1", "claim#abc")
	exp := h.clk.Now().Add(5 * time.Second)
	h.write(store.Put(store.Item{Key: k, Value: []byte("old"), N: 9, ExpiresAt: exp}).IfAbsent())
	h.write(store.Put(store.Item{Key: k, Value: []byte("old2"), N: 9, ExpiresAt: exp}).IfVersion(1))
	h.failsAt(0, store.Put(store.Item{Key: k, Value: []byte("new")}).IfAbsent())

	h.clk.Advance(5 * time.Second)
	h.write(store.Put(store.Item{Key: k, Value: []byte("new")}).IfAbsent())
	it := h.wantItem(k, "new", 0, 1)
	if !it.ExpiresAt.IsZero() {
		h.Fatalf("ExpiresAt = %v; want zero", it.ExpiresAt)
	}
	h.clk.Advance(time.Hour)
	h.wantItem(k, "new", 0, 1)
}

func addOverExpired(h *h) {
	k := key("rl#u1", "login")
	h.add(store.Add(k, 5).ExpiringAt(h.clk.Now().Add(time.Minute)))
	h.clk.Advance(time.Minute)
	h.write(store.Check(k).AtMost(0))
	h.failsAt(0, store.Add(k, 1).IfExists())
	if n := h.add(store.Add(k, 1)); n != 1 {
		h.Fatalf("Add over an expired counter = %d; want 1", n)
	}
	it := h.wantItem(k, "", 1, 1)
	if !it.ExpiresAt.IsZero() {
		h.Fatalf("ExpiresAt = %v; want zero: the expired item's expiry is gone with it", it.ExpiresAt)
	}

	// Bounds see 0 too: a floor of 0 refuses to take from an expired counter.
	k2 := key("campaign#c1", "stock")
	h.write(store.Put(store.Item{Key: k2, Value: []byte("meta"), N: 3, ExpiresAt: h.clk.Now().Add(time.Second)}))
	h.clk.Advance(time.Second)
	h.failsAt(0, store.Add(k2, -1).AtLeast(0))
	h.absent(k2)
}

func addExpiry(h *h) {
	k := key("rl#u1", "login")
	t1, t2 := h.clk.Now().Add(time.Minute), h.clk.Now().Add(2*time.Minute)
	h.add(store.Add(k, 1).ExpiringAt(t1))
	if it := h.wantItem(k, "", 1, 1); !it.ExpiresAt.Equal(t1) {
		h.Fatalf("ExpiresAt = %v; want %v", it.ExpiresAt, t1)
	}
	h.add(store.Add(k, 1)) // keeps the expiry
	if it := h.wantItem(k, "", 2, 2); !it.ExpiresAt.Equal(t1) {
		h.Fatalf("ExpiresAt = %v after an Add without one; want %v", it.ExpiresAt, t1)
	}
	h.add(store.Add(k, 1).ExpiringAt(t2)) // moves it
	if it := h.wantItem(k, "", 3, 3); !it.ExpiresAt.Equal(t2) {
		h.Fatalf("ExpiresAt = %v; want %v", it.ExpiresAt, t2)
	}
	h.clk.Set(t1)
	h.wantItem(k, "", 3, 3)
	h.clk.Set(t2)
	h.absent(k)
}

func rateLimitWindow(h *h) {
	k := key("rl#u1", "sms")
	end := h.clk.Now().Add(time.Minute)
	for range 3 {
		h.add(store.Add(k, 1).AtMost(3).ExpiringAt(end))
	}
	h.failsAt(0, store.Add(k, 1).AtMost(3).ExpiringAt(end))
	h.clk.Set(end)
	end = end.Add(time.Minute)
	if n := h.add(store.Add(k, 1).AtMost(3).ExpiringAt(end)); n != 1 {
		h.Fatalf("first Add of a new window = %d; want 1", n)
	}
}

func putAlreadyExpired(h *h) {
	now := h.clk.Now()
	for i, exp := range []time.Time{now, now.Add(-time.Hour), time.Unix(1, 0)} {
		k := key("idem#u1", fmt.Sprint(i))
		h.write(store.Put(store.Item{Key: k, Value: []byte("v"), ExpiresAt: exp}))
		h.absent(k)
		h.write(store.Put(store.Item{Key: k, Value: []byte("w")}).IfAbsent())
		h.wantItem(k, "w", 0, 1)
	}
}

func deleteExpired(h *h) {
	k := key("order#1", "lock")
	h.write(store.Put(store.Item{Key: k, ExpiresAt: h.clk.Now().Add(time.Second)}))
	h.clk.Advance(time.Second)
	h.failsAt(0, store.Delete(k).IfExists())
	h.write(store.Delete(k))
	h.absent(k)
	h.write(store.Put(store.Item{Key: k}).IfAbsent())
	h.wantItem(k, "", 0, 1)
}

func querySkipsExpired(h *h) {
	pk := "idem#u1"
	soon := h.clk.Now().Add(5 * time.Second)
	var live []string
	for i := range 20 {
		it := store.Item{Key: key(pk, fmt.Sprintf("k%02d", i))}
		// Expire every odd item, and the whole tail after k14.
		if i%2 == 1 || i > 14 {
			it.ExpiresAt = soon
		} else {
			live = append(live, it.SK)
		}
		h.write(store.Put(it))
	}
	h.clk.Set(soon)
	items, next := h.query(pk, store.Query{})
	if got := sks(items); !slices.Equal(got, live) || next != "" {
		h.Fatalf("Query = %v, next %q; want %v, \"\"", got, next, live)
	}
	for _, limit := range []int{1, 2, 3, 8} {
		if got := h.queryAll(pk, store.Query{Limit: limit}); !slices.Equal(got, live) {
			h.Fatalf("pages of %d = %v; want %v", limit, got, live)
		}
		if got := h.queryAll(pk, store.Query{Limit: limit, Desc: true}); !slices.Equal(got, reversed(live)) {
			h.Fatalf("descending pages of %d = %v; want %v", limit, got, reversed(live))
		}
	}
	// Only expired items follow the last live one: no cursor.
	items, next = h.query(pk, store.Query{Limit: len(live)})
	if len(items) != len(live) || next != "" {
		h.Fatalf("Query(Limit %d) = %d items, next %q; want all, no cursor", len(live), len(items), next)
	}
}

// reversed returns a reversed copy of s.
func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
