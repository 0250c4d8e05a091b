// Package storetest implements the contract suite that every store.Store
// backend passes (Run), and gives domain tests every backend available here
// (Backends) and a controllable clock (Clock).
//
// Run has one subtest per behaviour of the contract in package store, so a
// backend that passes it agrees with the others on conditions, versions,
// bounds, expiry, atomicity and Query paging, including under concurrency
// (run it with -race).
//
// Points where backends most easily disagree, and which Run pins down:
//
//   - SK order is the byte order of the UTF-8 strings (PostgreSQL needs
//     COLLATE "C").
//   - ExpiresAt is stored truncated to the whole second, and an item is
//     absent from its ExpiresAt on, for reads, conditions and bounds (an
//     expired counter counts as 0; a new item over it starts at version 1).
//   - Query's cursor is the SK of the page's last item, and it is empty when
//     no live item follows, even if expired ones do.
//   - A Write whose condition fails writes nothing, and concurrent Writes
//     never see a partial one.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// Run runs the contract suite. open is called once per subtest and must
// return a new, empty store that reads time from now and that t.Cleanup
// closes. The suite may Close the store itself first, so a second Close must
// be harmless.
func Run(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) {
	var cases []testCase
	for _, group := range [][]testCase{itemCases(), writeCases(), expiryCases(), queryCases(), concurrencyCases()} {
		cases = append(cases, group...)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := NewClock(Epoch)
			c.run(&h{T: t, st: open(t, clk.Now), clk: clk})
		})
	}
}

// testCase is one behaviour of the contract.
type testCase struct {
	name string
	run  func(*h)
}

// h is a subtest's harness: the test, the store under test and its clock.
type h struct {
	*testing.T
	st  store.Store
	clk *Clock
}

// key builds a store.Key.
func key(pk, sk string) store.Key { return store.Key{PK: pk, SK: sk} }

// write fails the test unless ops succeed.
func (h *h) write(ops ...store.Op) {
	h.Helper()
	if err := h.st.Write(h.Context(), ops...); err != nil {
		h.Fatalf("Write(%s): %v", describe(ops), err)
	}
}

// add fails the test unless op succeeds, and returns the new N.
func (h *h) add(op store.Op) int64 {
	h.Helper()
	n, err := h.st.Add(h.Context(), op)
	if err != nil {
		h.Fatalf("Add(%s): %v", describe([]store.Op{op}), err)
	}
	return n
}

// put writes an unconditional Put of value at k.
func (h *h) put(k store.Key, value string) {
	h.Helper()
	h.write(store.Put(store.Item{Key: k, Value: []byte(value)}))
}

// get fails the test unless a live item is at k.
func (h *h) get(k store.Key) store.Item {
	h.Helper()
	it, err := h.st.Get(h.Context(), k)
	if err != nil {
		h.Fatalf("Get(%s): %v", k, err)
	}
	if it.Key != k {
		h.Fatalf("Get(%s) returned key %s", k, it.Key)
	}
	return it
}

// absent fails the test unless Get(k) answers ErrNotFound.
func (h *h) absent(k store.Key) {
	h.Helper()
	it, err := h.st.Get(h.Context(), k)
	if !errors.Is(err, store.ErrNotFound) {
		h.Fatalf("Get(%s) = %+v, %v; want ErrNotFound", k, it, err)
	}
}

// wantItem checks an item's value, counter and version.
func (h *h) wantItem(k store.Key, value string, n, version int64) store.Item {
	h.Helper()
	it := h.get(k)
	if string(it.Value) != value || it.N != n || it.Version != version {
		h.Fatalf("Get(%s) = value %q N %d version %d; want %q, %d, %d", k, it.Value, it.N, it.Version, value, n, version)
	}
	return it
}

// failsAt fails the test unless Write(ops) fails the condition of op index.
func (h *h) failsAt(index int, ops ...store.Op) {
	h.Helper()
	wantCond(h.T, h.st.Write(h.Context(), ops...), index)
}

// wantCond fails the test unless err is a *store.ConditionError on op index.
func wantCond(t testing.TB, err error, index int) {
	t.Helper()
	var ce *store.ConditionError
	if !errors.As(err, &ce) || ce.Index != index {
		t.Fatalf("err = %v; want a ConditionError on op %d", err, index)
	}
	if !errors.Is(err, store.ErrConditionFailed) || store.FailedOp(err) != index {
		t.Fatalf("err = %v: errors.Is ErrConditionFailed %v, FailedOp %d; want true, %d",
			err, errors.Is(err, store.ErrConditionFailed), store.FailedOp(err), index)
	}
}

// wantInvalid fails the test unless err is ErrInvalidOps (and not a
// condition failure).
func wantInvalid(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalidOps) || store.FailedOp(err) != -1 {
		t.Fatalf("err = %v; want ErrInvalidOps", err)
	}
}

// query runs one Query and fails the test on error.
func (h *h) query(pk string, q store.Query) ([]store.Item, string) {
	h.Helper()
	items, next, err := h.st.Query(h.Context(), pk, q)
	if err != nil {
		h.Fatalf("Query(%q, %+v): %v", pk, q, err)
	}
	return items, next
}

// queryAll follows cursors from q until the last page, checking that every
// page but the last is full and that each cursor is its page's last SK.
func (h *h) queryAll(pk string, q store.Query) []string {
	h.Helper()
	var sks []string
	for pages := 0; ; pages++ {
		if pages > 2000 {
			h.Fatalf("Query(%q, %+v): cursor never ends", pk, q)
		}
		items, next := h.query(pk, q)
		for _, it := range items {
			if it.PK != pk {
				h.Fatalf("Query(%q) returned an item of %q", pk, it.PK)
			}
			sks = append(sks, it.SK)
		}
		if next == "" {
			return sks
		}
		if q.Limit > 0 && len(items) != q.Limit {
			h.Fatalf("Query(%q, %+v): page of %d items with a cursor; want %d", pk, q, len(items), q.Limit)
		}
		if len(items) == 0 || next != items[len(items)-1].SK {
			h.Fatalf("Query(%q, %+v): cursor %q; want the page's last SK", pk, q, next)
		}
		q.After = next
	}
}

// sks lists the SKs of items.
func sks(items []store.Item) []string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = it.SK
	}
	return s
}

// describe names ops compactly for failure messages.
func describe(ops []store.Op) string {
	var b bytes.Buffer
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 5 && len(ops) > 6 {
			fmt.Fprintf(&b, "… %d more", len(ops)-5)
			break
		}
		fmt.Fprintf(&b, "kind %d %s", op.Kind, op.Item.Key)
	}
	return b.String()
}
