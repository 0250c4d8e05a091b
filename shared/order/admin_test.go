package order_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// listAll pages through ListAll with q and returns every order and the
// number of pages.
func listAll(t *testing.T, e *ordertest.Env, q order.AllQuery) ([]order.Order, int) {
	t.Helper()
	var all []order.Order
	pages := 0
	for {
		got, next, err := e.Orders.ListAll(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, got...)
		if next == "" {
			return all, pages
		}
		if pages > 100 {
			t.Fatalf("more than 100 pages")
		}
		q.After = next
	}
}

func ids(os []order.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func TestListAllMergesUsersNewestFirst(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		if got, next, err := e.Orders.ListAll(ctx, order.AllQuery{}); err != nil || len(got) != 0 || next != "" {
			t.Fatalf("empty store: %v %q %v", got, next, err)
		}
		// 23 orders of 3 users, a millisecond apart; every third is paid,
		// order 4 cancelled.
		var want []string // newest first
		status := map[string]order.Status{}
		for i := range 23 {
			owner := fmt.Sprintf("u%d", i%3)
			c, err := e.Orders.Create(ctx, owner, line("tea", 1), "")
			if err != nil {
				t.Fatal(err)
			}
			id := c.Order.ID
			want = append([]string{id}, want...)
			status[id] = order.Pending
			switch {
			case i%3 == 0:
				if err := e.Emulator.Pay(ctx, id); err != nil {
					t.Fatal(err)
				}
				e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
				status[id] = order.Paid
			case i == 4:
				if _, err := e.Orders.Cancel(ctx, owner, id); err != nil {
					t.Fatal(err)
				}
				status[id] = order.Cancelled
			}
			e.Clock.Advance(time.Millisecond)
		}
		// The index is spread over the shards (23 random ids in one of 8
		// shards would be a 1 in 8^22 event).
		used := 0
		for i := range order.AllShards {
			items, _, err := e.Store.Query(ctx, fmt.Sprintf("order#all#%d", i), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 0 {
				used++
			}
		}
		if used < 2 {
			t.Fatalf("index entries in %d shard(s)", used)
		}
		for _, limit := range []int{1, 7, 23, 100} {
			got, pages := listAll(t, e, order.AllQuery{Limit: limit})
			if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
				t.Fatalf("limit %d:\n got %v\nwant %v", limit, ids(got), want)
			}
			if wantPages := (23 + limit - 1) / limit; pages != wantPages && pages != wantPages+1 {
				t.Fatalf("limit %d: %d pages", limit, pages)
			}
			for _, o := range got {
				if o.Status != status[o.ID] {
					t.Fatalf("order %s is %s, want %s", o.ID, o.Status, status[o.ID])
				}
			}
		}
		for _, st := range []order.Status{order.Paid, order.Pending, order.Cancelled, order.Refunded} {
			var wantSt []string
			for _, id := range want {
				if status[id] == st {
					wantSt = append(wantSt, id)
				}
			}
			got, _ := listAll(t, e, order.AllQuery{Status: st, Limit: 3})
			if fmt.Sprint(ids(got)) != fmt.Sprint(wantSt) {
				t.Fatalf("status %s:\n got %v\nwant %v", st, ids(got), wantSt)
			}
		}
	})
}

func TestListAllRefusesBadQueries(t *testing.T) {
	e := ordertest.New(t, storetest.Backends(t)[0], ordertest.Options{})
	for _, q := range []order.AllQuery{
		{Status: "shipped"}, {After: "not a cursor!"}, {Limit: 101}, {Limit: -1},
	} {
		_, _, err := e.Orders.ListAll(context.Background(), q)
		if apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%+v: %v, want invalid_request", q, err)
		}
	}
}

// TestListAllScanBound fills the index with entries whose orders do not
// exist (so none matches) and checks that a filtered page stops after
// order.MaxScan entries with a cursor, and that paging on reaches the
// real, older orders.
func TestListAllScanBound(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		c, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Emulator.Pay(ctx, c.Order.ID); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, c.Order.ID, "TRANSACTION.SUCCESS")
		// Newer ids than the real order, spread over the shards like real ones.
		ms := e.Clock.Now().Add(time.Second).UnixMilli()
		ghosts := order.MaxScan + 40
		var ops []store.Op
		for i := range ghosts {
			id := fmt.Sprintf("%012x%016x", ms, i)
			v, _ := json.Marshal(map[string]string{"owner": "ghost", "id": id})
			ops = append(ops, store.Put(store.Item{Key: order.AllKey(id), Value: v}))
			if len(ops) == store.MaxOps || i == ghosts-1 {
				if err := e.Store.Write(ctx, ops...); err != nil {
					t.Fatal(err)
				}
				ops = nil
			}
		}
		got, next, err := e.Orders.ListAll(ctx, order.AllQuery{Status: order.Paid, Limit: 10})
		if err != nil || len(got) != 0 || next == "" {
			t.Fatalf("first page: %v next %q err %v; want no order and a cursor", ids(got), next, err)
		}
		got, next, err = e.Orders.ListAll(ctx, order.AllQuery{Status: order.Paid, Limit: 10, After: next})
		if err != nil || len(got) != 1 || got[0].ID != c.Order.ID || next != "" {
			t.Fatalf("second page: %v next %q err %v; want the paid order and the end", ids(got), next, err)
		}
		// Unfiltered, the ghosts are skipped too: only the real order.
		all, _ := listAll(t, e, order.AllQuery{Limit: 100})
		if len(all) != 1 {
			t.Fatalf("unfiltered: %v", ids(all))
		}
	})
}

func TestFindIsAnyOwners(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		c, err := e.Orders.Create(ctx, "u1", line("tea", 2), "")
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.Orders.Find(ctx, c.Order.ID)
		if err != nil || o.ID != c.Order.ID || o.Total != 2000 {
			t.Fatalf("find: %+v %v", o, err)
		}
		for _, id := range []string{"0000000000000000000000000000", "bad id", ""} {
			if _, err := e.Orders.Find(ctx, id); !errors.Is(err, order.ErrNotFound) {
				t.Fatalf("find %q: %v", id, err)
			}
		}
	})
}
