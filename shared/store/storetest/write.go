package storetest

import (
	"fmt"
	"strings"

	"github.com/minifn/minifn/shared/store"
)

// writeCases cover multi-op atomicity and the shape rules of Write.
func writeCases() []testCase {
	return []testCase{
		{"AllOrNothing", allOrNothing},
		{"FirstFailingOp", firstFailingOp},
		{"MaxOps", maxOps},
		{"InvalidOps", invalidOps},
		{"KeyLength", keyLength},
	}
}

func allOrNothing(h *h) {
	stock, taken, other := key("campaign#c1", "stock"), key("coupon#c1", "user#u1"), key("order#1", "head")
	a, b := key("coupon#c1", "user#u2"), key("campaign#c1", "user#u2")
	h.add(store.Add(stock, 10))
	h.put(taken, "old")
	h.put(other, "keep")

	h.failsAt(2,
		store.Add(stock, -1).AtLeast(0),
		store.Put(store.Item{Key: a, Value: []byte("new")}),
		store.Put(store.Item{Key: taken, Value: []byte("new")}).IfAbsent(),
		store.Add(b, 1).AtMost(1),
		store.Delete(other),
	)
	h.wantItem(stock, "", 10, 1)
	h.wantItem(taken, "old", 0, 1)
	h.wantItem(other, "keep", 0, 1)
	h.absent(a)
	h.absent(b)

	// The same ops without the failing one all apply.
	h.write(
		store.Add(stock, -1).AtLeast(0),
		store.Put(store.Item{Key: a, Value: []byte("new")}),
		store.Add(b, 1).AtMost(1),
		store.Delete(other),
	)
	h.wantItem(stock, "", 9, 2)
	h.wantItem(a, "new", 0, 1)
	h.wantItem(b, "", 1, 1)
	h.absent(other)
}

func firstFailingOp(h *h) {
	stock, taken := key("campaign#c1", "stock"), key("coupon#c1", "user#u1")
	h.put(taken, "old")
	// Ops 1 and 2 both fail: the first is reported.
	h.failsAt(1,
		store.Put(store.Item{Key: key("x", "1")}),
		store.Add(stock, -1).AtLeast(0),
		store.Check(taken).IfAbsent(),
	)
	h.failsAt(0, store.Check(taken).IfAbsent(), store.Add(stock, -1).AtLeast(0))

	// A failure at the last of MaxOps ops writes none of the others.
	var ops []store.Op
	for i := range store.MaxOps - 1 {
		ops = append(ops, store.Put(store.Item{Key: key("bulk", fmt.Sprintf("%03d", i))}))
	}
	ops = append(ops, store.Check(taken).IfAbsent())
	h.failsAt(store.MaxOps-1, ops...)
	if items, _ := h.query("bulk", store.Query{Limit: 1000}); len(items) != 0 {
		h.Fatalf("%d items written by a failed Write", len(items))
	}
	h.absent(key("x", "1"))
	h.absent(stock)
}

func maxOps(h *h) {
	ops := func(pk string, n int) []store.Op {
		var ops []store.Op
		for i := range n {
			k := key(pk, fmt.Sprintf("%03d", i))
			switch i % 3 {
			case 0:
				ops = append(ops, store.Put(store.Item{Key: k, Value: []byte(k.SK)}).IfAbsent())
			case 1:
				ops = append(ops, store.Add(k, int64(i)).AtLeast(0))
			default:
				ops = append(ops, store.Put(store.Item{Key: k, Value: []byte(k.SK)}))
			}
		}
		return ops
	}
	h.write(ops("hundred", store.MaxOps)...)
	if items, _ := h.query("hundred", store.Query{Limit: 1000}); len(items) != store.MaxOps {
		h.Fatalf("Query found %d of %d items written in one Write", len(items), store.MaxOps)
	}
	wantInvalid(h, h.st.Write(h.Context(), ops("more", store.MaxOps+1)...))
	if items, _ := h.query("more", store.Query{Limit: 1000}); len(items) != 0 {
		h.Fatalf("%d items written by a Write of too many ops", len(items))
	}
}

func invalidOps(h *h) {
	k := key("user#1", "profile")
	for name, ops := range map[string][]store.Op{
		"none":          nil,
		"duplicate":     {store.Put(store.Item{Key: k}), store.Add(k, 1)},
		"check and put": {store.Check(k).IfAbsent(), store.Put(store.Item{Key: k})},
		"empty PK":      {store.Put(store.Item{Key: key("", "a")})},
		"empty SK":      {store.Put(store.Item{Key: key("a", "")})},
		"empty add":     {store.Put(store.Item{Key: k}), store.Add(key("", ""), 1)},
		"empty delete":  {store.Delete(key("a", ""))},
		"empty check":   {store.Check(key("", "a"))},
		"no kind":       {{Item: store.Item{Key: k}}},
	} {
		err := h.st.Write(h.Context(), ops...)
		if err == nil {
			h.Fatalf("%s: Write succeeded; want ErrInvalidOps", name)
		}
		wantInvalid(h, err)
	}
	h.absent(k)
}

func keyLength(h *h) {
	long := key(strings.Repeat("p", 512), strings.Repeat("s", 512))
	h.put(long, "v")
	h.wantItem(long, "v", 0, 1)
	wantInvalid(h, h.st.Write(h.Context(), store.Put(store.Item{Key: key(long.PK+"p", "s")})))
	wantInvalid(h, h.st.Write(h.Context(), store.Put(store.Item{Key: key("p", long.SK+"s")})))
}
