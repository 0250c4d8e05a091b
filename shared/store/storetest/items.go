package storetest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// itemCases cover single-item reads, conditions, versions, counters and
// deletes.
func itemCases() []testCase {
	return []testCase{
		{"GetMissing", getMissing},
		{"PutGet", putGet},
		{"PutReplaces", putReplaces},
		{"PutIfAbsentTwice", putIfAbsentTwice},
		{"IfExists", ifExists},
		{"IfVersion", ifVersion},
		{"VersionIncrements", versionIncrements},
		{"AddCreates", addCreates},
		{"AddInvalid", addInvalid},
		{"AddAtLeast", addAtLeast},
		{"AddAtMost", addAtMost},
		{"CheckBounds", checkBounds},
		{"CheckConditions", checkConditions},
		{"Delete", deleteItem},
		{"ValuesCopied", valuesCopied},
		{"LargeValue", largeValue},
	}
}

func getMissing(h *h) {
	h.absent(key("user#1", "profile"))
	h.put(key("user#1", "a"), "x")
	h.absent(key("user#1", "b"))
	h.absent(key("user#1", "a#"))
	h.absent(key("user#", "1a")) // not the same key as user#1/a
}

func putGet(h *h) {
	k := key("user#1", "profile")
	exp := h.clk.Now().Add(time.Hour)
	val := []byte{0, 1, 2, 0xff, '{', '"', 0}
	// Version is the store's: the one in the Put is ignored.
	h.write(store.Put(store.Item{Key: k, Value: val, N: -42, Version: 99, ExpiresAt: exp}))
	it := h.get(k)
	if !bytes.Equal(it.Value, val) || it.N != -42 || it.Version != 1 {
		h.Fatalf("got value %v N %d version %d; want %v, -42, 1", it.Value, it.N, it.Version, val)
	}
	if !it.ExpiresAt.Equal(exp) {
		h.Fatalf("ExpiresAt = %v; want %v", it.ExpiresAt, exp)
	}

	// Expiry has one-second resolution: a fraction is truncated.
	k2 := key("user#1", "session")
	exp2 := h.clk.Now().Add(90*time.Minute + 700*time.Millisecond)
	h.write(store.Put(store.Item{Key: k2, ExpiresAt: exp2}))
	if got := h.get(k2).ExpiresAt; !got.Equal(exp2.Truncate(time.Second)) {
		h.Fatalf("ExpiresAt = %v; want %v (truncated to the second)", got, exp2.Truncate(time.Second))
	}

	k3 := key("user#2", "profile")
	h.write(store.Put(store.Item{Key: k3}))
	it = h.wantItem(k3, "", 0, 1)
	if !it.ExpiresAt.IsZero() {
		h.Fatalf("ExpiresAt = %v; want zero (never expires)", it.ExpiresAt)
	}
}

func putReplaces(h *h) {
	k := key("product#1", "info")
	h.write(store.Put(store.Item{Key: k, Value: []byte("a"), N: 5, ExpiresAt: h.clk.Now().Add(time.Hour)}))
	h.write(store.Put(store.Item{Key: k, Value: []byte("b")}))
	it := h.wantItem(k, "b", 0, 2)
	if !it.ExpiresAt.IsZero() {
		h.Fatalf("ExpiresAt = %v after a Put without one; want zero", it.ExpiresAt)
	}
}

func putIfAbsentTwice(h *h) {
	k := key("coupon#c1", "user#u1")
	h.write(store.Put(store.Item{Key: k, Value: []byte("first")}).IfAbsent())
	h.failsAt(0, store.Put(store.Item{Key: k, Value: []byte("second")}).IfAbsent())
	h.wantItem(k, "first", 0, 1)
}

func ifExists(h *h) {
	k := key("order#1", "head")
	h.failsAt(0, store.Put(store.Item{Key: k, Value: []byte("x")}).IfExists())
	h.failsAt(0, store.Add(k, 1).IfExists())
	h.failsAt(0, store.Delete(k).IfExists())
	h.failsAt(0, store.Check(k).IfExists())
	h.absent(k)

	h.put(k, "a")
	h.write(store.Put(store.Item{Key: k, Value: []byte("b")}).IfExists())
	h.write(store.Add(k, 3).IfExists())
	h.write(store.Check(k).IfExists())
	h.wantItem(k, "b", 3, 3)
}

func ifVersion(h *h) {
	k := key("order#1", "head")
	h.failsAt(0, store.Put(store.Item{Key: k}).IfVersion(0))
	h.failsAt(0, store.Put(store.Item{Key: k}).IfVersion(1))
	h.absent(k)

	h.put(k, "v1")
	h.failsAt(0, store.Put(store.Item{Key: k, Value: []byte("x")}).IfVersion(2))
	h.failsAt(0, store.Put(store.Item{Key: k, Value: []byte("x")}).IfVersion(0))
	h.write(store.Put(store.Item{Key: k, Value: []byte("v2")}).IfVersion(1))
	h.failsAt(0, store.Put(store.Item{Key: k, Value: []byte("x")}).IfVersion(1))
	h.write(store.Add(k, 1).IfVersion(2))
	h.failsAt(0, store.Add(k, 1).IfVersion(2))
	h.wantItem(k, "v2", 1, 3)
}

func versionIncrements(h *h) {
	k := key("points#u1", "balance")
	want := func(v int64) {
		h.Helper()
		if got := h.get(k).Version; got != v {
			h.Fatalf("Version = %d; want %d", got, v)
		}
	}
	h.put(k, "a")
	want(1)
	h.add(store.Add(k, 1))
	want(2)
	h.add(store.Add(k, 0))
	want(3)
	h.put(k, "b")
	want(4)
	h.write(store.Check(k))
	h.write(store.Check(k).IfVersion(4).AtLeast(0))
	want(4)
}

func addCreates(h *h) {
	k := key("points#u1", "balance")
	if n := h.add(store.Add(k, 7)); n != 7 {
		h.Fatalf("Add = %d; want 7", n)
	}
	it := h.wantItem(k, "", 7, 1)
	if !it.ExpiresAt.IsZero() {
		h.Fatalf("ExpiresAt = %v; want zero", it.ExpiresAt)
	}
	// Without bounds a counter may go negative.
	if n := h.add(store.Add(k, -10)); n != -3 {
		h.Fatalf("Add = %d; want -3", n)
	}
	// Write's Add works the same, and Add keeps the item's value.
	k2 := key("product#1", "stock")
	h.write(store.Put(store.Item{Key: k2, Value: []byte("meta"), N: 1}))
	h.write(store.Add(k2, 2))
	if n := h.add(store.Add(k2, 10)); n != 13 {
		h.Fatalf("Add = %d; want 13", n)
	}
	h.wantItem(k2, "meta", 13, 3)
}

func addInvalid(h *h) {
	for _, op := range []store.Op{
		store.Put(store.Item{Key: key("a", "b")}),
		store.Delete(key("a", "b")),
		store.Check(key("a", "b")),
		store.Add(key("", "b"), 1),
		store.Add(key("a", ""), 1),
	} {
		_, err := h.st.Add(h.Context(), op)
		wantInvalid(h, err)
	}
	h.absent(key("a", "b"))
}

func addAtLeast(h *h) {
	k := key("campaign#c1", "stock")
	_, err := h.st.Add(h.Context(), store.Add(k, -1).AtLeast(0))
	wantCond(h, err, 0)
	h.absent(k) // a refused Add writes nothing, not even a zero counter

	h.add(store.Add(k, 2))
	h.failsAt(0, store.Add(k, -3).AtLeast(0))
	h.wantItem(k, "", 2, 1)
	for want := int64(1); want >= 0; want-- {
		if n := h.add(store.Add(k, -1).AtLeast(0)); n != want {
			h.Fatalf("Add = %d; want %d", n, want)
		}
	}
	_, err = h.st.Add(h.Context(), store.Add(k, -1).AtLeast(0))
	wantCond(h, err, 0)
	h.wantItem(k, "", 0, 3)

	// A negative floor (an overdraft) is a floor all the same.
	h.add(store.Add(k, -5).AtLeast(-5))
	h.failsAt(0, store.Add(k, -1).AtLeast(-5))
	h.wantItem(k, "", -5, 4)
}

func addAtMost(h *h) {
	k := key("campaign#c1", "user#u1")
	h.add(store.Add(k, 1).AtMost(2))
	h.add(store.Add(k, 1).AtMost(2))
	h.failsAt(0, store.Add(k, 1).AtMost(2))
	h.wantItem(k, "", 2, 2)

	k2 := key("campaign#c1", "user#u2")
	h.failsAt(0, store.Add(k2, 5).AtMost(1))
	h.absent(k2)
	h.add(store.Add(k2, 1).AtLeast(0).AtMost(1))
	h.failsAt(0, store.Add(k2, 1).AtLeast(0).AtMost(1))
	h.failsAt(0, store.Add(k2, -2).AtLeast(0).AtMost(1))
	h.wantItem(k2, "", 1, 1)
}

func checkBounds(h *h) {
	k := key("campaign#c1", "stock")
	// An absent item counts as 0.
	h.write(store.Check(k).AtLeast(0))
	h.write(store.Check(k).AtMost(0))
	h.write(store.Check(k).AtLeast(-1).AtMost(1))
	h.failsAt(0, store.Check(k).AtLeast(1))
	h.failsAt(0, store.Check(k).AtMost(-1))
	h.absent(k) // Check writes nothing

	h.add(store.Add(k, 5))
	h.write(store.Check(k).AtLeast(5))
	h.write(store.Check(k).AtMost(5))
	h.failsAt(0, store.Check(k).AtLeast(6))
	h.failsAt(0, store.Check(k).AtMost(4))
	h.wantItem(k, "", 5, 1)
}

func checkConditions(h *h) {
	gate, k := key("campaign#c1", "head"), key("coupon#c1", "user#u1")
	h.write(store.Check(gate).IfAbsent())
	h.failsAt(0, store.Check(gate).IfExists(), store.Put(store.Item{Key: k}))
	h.absent(k)

	h.put(gate, "open")
	h.failsAt(0, store.Check(gate).IfAbsent())
	h.failsAt(1, store.Put(store.Item{Key: k}), store.Check(gate).IfVersion(2))
	h.absent(k)
	h.write(store.Put(store.Item{Key: k}), store.Check(gate).IfVersion(1))
	h.wantItem(k, "", 0, 1)
	h.wantItem(gate, "open", 0, 1)
}

func deleteItem(h *h) {
	k := key("order#1", "head")
	h.write(store.Delete(k)) // deleting an absent item is not an error
	h.failsAt(0, store.Delete(k).IfExists())
	h.failsAt(0, store.Delete(k).IfVersion(1))

	h.put(k, "a")
	h.put(k, "b")
	h.failsAt(0, store.Delete(k).IfVersion(1))
	h.wantItem(k, "b", 0, 2)
	h.write(store.Delete(k).IfVersion(2))
	h.absent(k)

	// A new item at a deleted key starts over at version 1.
	h.put(k, "c")
	h.wantItem(k, "c", 0, 1)
	h.write(store.Delete(k).IfExists())
	h.absent(k)
	h.add(store.Add(k, 1))
	h.write(store.Delete(k))
	h.absent(k)
	if items, _ := h.query(k.PK, store.Query{}); len(items) != 0 {
		h.Fatalf("Query after delete = %v; want none", sks(items))
	}
}

func valuesCopied(h *h) {
	k := key("user#1", "profile")
	val := []byte("abc")
	h.write(store.Put(store.Item{Key: k, Value: val}))
	val[0] = 'X'
	got := h.get(k)
	if string(got.Value) != "abc" {
		h.Fatalf("value = %q after the caller changed its slice; want \"abc\"", got.Value)
	}
	got.Value[0] = 'Y'
	h.wantItem(k, "abc", 0, 1)
	items, _ := h.query(k.PK, store.Query{})
	items[0].Value[1] = 'Z'
	h.wantItem(k, "abc", 0, 1)
}

func largeValue(h *h) {
	k := key("qr#1", "png")
	val := make([]byte, 60<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range val {
		val[i] = byte(r.Uint32())
	}
	h.write(store.Put(store.Item{Key: k, Value: val}).IfAbsent())
	if got := h.get(k); !bytes.Equal(got.Value, val) {
		h.Fatalf("60 KiB value came back as %d different bytes", len(got.Value))
	}
	items, _ := h.query(k.PK, store.Query{})
	if len(items) != 1 || !bytes.Equal(items[0].Value, val) {
		h.Fatalf("Query did not return the 60 KiB value intact")
	}
	if _, err := h.st.Get(h.Context(), key("qr#1", "other")); !errors.Is(err, store.ErrNotFound) {
		h.Fatalf("Get other = %v; want ErrNotFound", err)
	}
}
