package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/minifn/minifn/shared/store"
)

// queryCases cover listing one collection: order, prefixes, cursors, limits
// and isolation from other collections.
func queryCases() []testCase {
	return []testCase{
		{"QueryOrder", queryOrder},
		{"QueryPrefix", queryPrefix},
		{"QueryAfter", queryAfter},
		{"QueryIsolation", queryIsolation},
		{"QueryPagination", queryPagination},
		{"QueryLimits", queryLimits},
		{"QueryUnicode", queryUnicode},
	}
}

// putAll writes one item per SK under pk, in a shuffled order, with Value
// "v:"+SK and N its index in sks.
func (h *h) putAll(pk string, sks []string) {
	h.Helper()
	order := rand.New(rand.NewPCG(3, 4)).Perm(len(sks))
	for start := 0; start < len(order); start += store.MaxOps {
		var ops []store.Op
		for _, i := range order[start:min(start+store.MaxOps, len(order))] {
			ops = append(ops, store.Put(store.Item{Key: key(pk, sks[i]), Value: []byte("v:" + sks[i]), N: int64(i)}))
		}
		h.write(ops...)
	}
}

func queryOrder(h *h) {
	pk := "order#u1"
	all := []string{"b", "a", "c#2", "c#10", "c", "a#1", "aa", "B", "0", "~", "a b"}
	h.putAll(pk, all)
	want := slices.Clone(all)
	slices.Sort(want) // byte order
	items, next := h.query(pk, store.Query{})
	if got := sks(items); !slices.Equal(got, want) || next != "" {
		h.Fatalf("Query = %v, next %q; want %v, \"\"", got, next, want)
	}
	for _, it := range items {
		if it.PK != pk || string(it.Value) != "v:"+it.SK || it.N != int64(slices.Index(all, it.SK)) || it.Version != 1 {
			h.Fatalf("Query item %s = value %q N %d version %d", it.Key, it.Value, it.N, it.Version)
		}
	}
	items, next = h.query(pk, store.Query{Desc: true})
	if got := sks(items); !slices.Equal(got, reversed(want)) || next != "" {
		h.Fatalf("Query(Desc) = %v, next %q; want %v", got, next, reversed(want))
	}
	if items, next := h.query("order#nobody", store.Query{}); len(items) != 0 || next != "" {
		h.Fatalf("Query of an empty collection = %v, %q", sks(items), next)
	}
}

func queryPrefix(h *h) {
	pk := "order#u1"
	h.putAll(pk, []string{"a", "a#1", "a#2", "aa", "b#1", "c#10", "c#2", "c"})
	for _, tc := range []struct {
		q    store.Query
		want []string
	}{
		{store.Query{Prefix: "a#"}, []string{"a#1", "a#2"}},
		{store.Query{Prefix: "a"}, []string{"a", "a#1", "a#2", "aa"}},
		{store.Query{Prefix: "a", Desc: true}, []string{"aa", "a#2", "a#1", "a"}},
		{store.Query{Prefix: "c#"}, []string{"c#10", "c#2"}},
		{store.Query{Prefix: "c#", Desc: true}, []string{"c#2", "c#10"}},
		{store.Query{Prefix: "a#1"}, []string{"a#1"}},
		{store.Query{Prefix: "zz"}, nil},
		{store.Query{Prefix: "zz", Desc: true}, nil},
		{store.Query{Prefix: "0"}, nil},
		{store.Query{Prefix: "a", Limit: 2}, []string{"a", "a#1"}},
		{store.Query{Prefix: "a", Limit: 2, Desc: true}, []string{"aa", "a#2"}},
	} {
		items, next := h.query(pk, tc.q)
		if got := sks(items); !slices.Equal(got, tc.want) {
			h.Fatalf("Query(%+v) = %v; want %v", tc.q, got, tc.want)
		}
		if wantNext := tc.q.Limit > 0; (next != "") != wantNext {
			h.Fatalf("Query(%+v) next = %q", tc.q, next)
		}
	}
}

func queryAfter(h *h) {
	pk := "order#u1"
	h.putAll(pk, []string{"a", "b", "c", "d"})
	for _, tc := range []struct {
		q    store.Query
		want []string
	}{
		{store.Query{After: "b"}, []string{"c", "d"}},
		{store.Query{After: "bb"}, []string{"c", "d"}},
		{store.Query{After: "0"}, []string{"a", "b", "c", "d"}},
		{store.Query{After: "d"}, nil},
		{store.Query{After: "z"}, nil},
		{store.Query{After: "c", Desc: true}, []string{"b", "a"}},
		{store.Query{After: "bb", Desc: true}, []string{"b", "a"}},
		{store.Query{After: "z", Desc: true}, []string{"d", "c", "b", "a"}},
		{store.Query{After: "a", Desc: true}, nil},
		{store.Query{After: "0", Desc: true}, nil},
		{store.Query{Prefix: "c", After: "a"}, []string{"c"}},
		{store.Query{Prefix: "c", After: "c"}, nil},
		{store.Query{Prefix: "a", After: "z"}, nil},
		{store.Query{Prefix: "c", After: "z", Desc: true}, []string{"c"}},
		{store.Query{Prefix: "c", After: "a", Desc: true}, nil},
		{store.Query{Prefix: "c", After: "c", Desc: true}, nil},
	} {
		items, next := h.query(pk, tc.q)
		if got := sks(items); !slices.Equal(got, tc.want) || next != "" {
			h.Fatalf("Query(%+v) = %v, next %q; want %v, \"\"", tc.q, got, next, tc.want)
		}
	}
}

func queryIsolation(h *h) {
	// Collections whose names prefix one another must not leak into each
	// other, whatever the backend's key encoding.
	pks := []string{"p", "pa", "p#", "p#x", "p/", "o", "q", "p\u00e9"}
	for _, pk := range pks {
		h.putAll(pk, []string{"1", "2", "a" + pk})
	}
	for _, pk := range pks {
		want := []string{"1", "2", "a" + pk}
		for _, q := range []store.Query{{}, {Desc: true}, {Limit: 1}, {Prefix: "a"}, {After: "1"}, {After: "3", Desc: true}} {
			got := h.queryAll(pk, q)
			w := want
			switch {
			case q.Prefix != "":
				w = want[2:]
			case q.After == "1":
				w = want[1:]
			case q.After == "3":
				w = want[:2]
			}
			if q.Desc {
				w = reversed(w)
			}
			if !slices.Equal(got, w) {
				h.Fatalf("Query(%q, %+v) = %v; want %v", pk, q, got, w)
			}
		}
	}
}

func queryPagination(h *h) {
	pk := "order#u1"
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("item#%02d", i))
	}
	h.putAll(pk, append(slices.Clone(want), "a", "other#1", "items", "item"))
	h.putAll("order#u2", want)
	for _, limit := range []int{1, 5, 10, 25, 26} {
		if got := h.queryAll(pk, store.Query{Prefix: "item#", Limit: limit}); !slices.Equal(got, want) {
			h.Fatalf("pages of %d = %v; want %v", limit, got, want)
		}
		if got := h.queryAll(pk, store.Query{Prefix: "item#", Limit: limit, Desc: true}); !slices.Equal(got, reversed(want)) {
			h.Fatalf("descending pages of %d = %v; want %v", limit, got, reversed(want))
		}
	}
	// A full last page has no cursor when nothing follows it.
	items, next := h.query(pk, store.Query{Prefix: "item#", Limit: 5, After: "item#19"})
	if len(items) != 5 || next != "" {
		h.Fatalf("last full page: %v, next %q; want 5 items, no cursor", sks(items), next)
	}
	items, next = h.query(pk, store.Query{Prefix: "item#", Limit: 5, After: "item#18"})
	if len(items) != 5 || next != "item#23" {
		h.Fatalf("page: %v, next %q; want 5 items, cursor item#23", sks(items), next)
	}
}

func queryLimits(h *h) {
	pk := "points#u1"
	var all []string
	for i := range 1001 {
		all = append(all, fmt.Sprintf("%04d", i))
	}
	h.putAll(pk, all)
	for _, tc := range []struct{ limit, want int }{{0, 100}, {1000, 1000}, {1001, 1000}, {5000, 1000}} {
		items, next := h.query(pk, store.Query{Limit: tc.limit})
		if !slices.Equal(sks(items), all[:tc.want]) || next != all[tc.want-1] {
			h.Fatalf("Query(Limit %d) = %d items, next %q; want %d, %q", tc.limit, len(items), next, tc.want, all[tc.want-1])
		}
	}
	items, next := h.query(pk, store.Query{Limit: 1000, After: all[0]})
	if len(items) != 1000 || next != "" {
		h.Fatalf("last page = %d items, next %q; want 1000, no cursor", len(items), next)
	}
}

func queryUnicode(h *h) {
	pk := "用户#张三/1"
	all := []string{"订单#2024/01", "订单#2024/02", "订单#2024/10", "😀", "a/b#c", "é", "#", "/", "e", "z", "Ω"}
	h.putAll(pk, all)
	for _, sk := range all {
		h.wantItem(key(pk, sk), "v:"+sk, int64(slices.Index(all, sk)), 1)
	}
	want := slices.Clone(all)
	slices.Sort(want) // UTF-8 byte order is code point order
	for _, limit := range []int{0, 1, 2, 3} {
		if got := h.queryAll(pk, store.Query{Limit: limit}); !slices.Equal(got, want) {
			h.Fatalf("pages of %d = %v; want %v", limit, got, want)
		}
		if got := h.queryAll(pk, store.Query{Limit: limit, Desc: true}); !slices.Equal(got, reversed(want)) {
			h.Fatalf("descending pages of %d = %v; want %v", limit, got, reversed(want))
		}
	}
	var orders []string
	for _, sk := range want {
		if strings.HasPrefix(sk, "订单#") {
			orders = append(orders, sk)
		}
	}
	if got := h.queryAll(pk, store.Query{Prefix: "订单#", Limit: 2}); !slices.Equal(got, orders) {
		h.Fatalf("Query(Prefix 订单#) = %v; want %v", got, orders)
	}
	h.absent(key("用户#张三", "1/订单#2024/01"))
}
