package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store"
)

// MaxScan bounds how many index entries one ListAll call reads when a status
// filter skips orders: the page then comes back short (even empty) with a
// cursor to continue from, so that a rare status never makes one request
// read the whole history.
const MaxScan = 500

// loadWorkers is how many orders ListAll reads at once.
const loadWorkers = 8

// AllQuery selects orders of every user, for the admin.
type AllQuery struct {
	Status Status // only orders in this state; "" for any
	// Attention selects only the orders that need the merchant (an
	// automatic refund that failed: Order.Attention is set).
	Attention bool
	// Shipping "pending" selects the paid orders whose shipping is not
	// with WeChat yet: express orders to ship, uploads not taken yet.
	Shipping string
	// StoreID selects the orders made in one physical store (scan-and-go
	// and table orders), read from that store's own index.
	StoreID string
	After   string // the cursor: "next" of the previous page
	Limit   int    // at most this many orders; 1 to 100, 20 when 0
}

// Validate checks the query's shape.
func (q AllQuery) Validate() error {
	switch q.Status {
	case "", Pending, Paid, Cancelled, Closed, Refunding, Refunded:
	default:
		return apperr.Invalidf("status must be one of pending, paid, cancelled, closed, refunding, refunded")
	}
	if q.Shipping != "" && q.Shipping != ShipPending {
		return apperr.Invalidf("shipping must be pending")
	}
	if q.StoreID != "" && !outlet.ValidID(q.StoreID) {
		return apperr.Invalidf("store_id is not a store id")
	}
	if q.After != "" && !validID(q.After) {
		return apperr.Invalidf("after is not a cursor of this list")
	}
	if q.Limit < 0 || q.Limit > 100 {
		return apperr.Invalidf("limit must be 1 to 100")
	}
	return nil
}

// shipping applies the Shipping filter.
func (q AllQuery) shipping(o *Order) bool {
	return q.Shipping == "" || (o.Status == Paid && o.Shipping != nil && o.Shipping.Status == ShipPending)
}

// Find returns the order id, whoever owns it (an admin's view). A pending
// order is reconciled with WeChat Pay as in Get. Returns ErrNotFound.
func (s *Service) Find(ctx context.Context, id string) (Order, error) {
	cur, err := s.loadByTradeNo(ctx, id)
	if err != nil {
		return Order{}, err
	}
	return s.reconcile(ctx, cur), nil
}

// ListAll returns the orders of every user, newest first, in q.Status if
// set (and needing attention if q.Attention), made in store q.StoreID if
// set, and the cursor of the next page ("" when there is none).
//
// The all-orders index is spread over AllShards collections; ListAll reads
// them newest first and merges them by id (ids sort by creation time). A
// store's orders have one collection of their own (storeKey), read alone. The
// status is not in the index: each entry's order is read and the filter
// applied while paging, reading at most MaxScan entries per call, so a
// filtered page may hold fewer than q.Limit orders and still have a next.
func (s *Service) ListAll(ctx context.Context, q AllQuery) ([]Order, string, error) {
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit == 0 {
		limit = 20
	}
	pks := make([]string, AllShards)
	for i := range pks {
		pks[i] = allPK(i)
	}
	if q.StoreID != "" {
		pks = []string{storePK(q.StoreID)}
	}
	m := newMerge(s.st, pks, q.After, min(100, 2*limit/len(pks)+2))
	out := make([]Order, 0, limit)
	scanned, last := 0, ""
	for len(out) < limit && scanned < MaxScan {
		entries, err := m.take(ctx, min(limit-len(out), MaxScan-scanned))
		if err != nil {
			return nil, "", err
		}
		if len(entries) == 0 {
			return out, "", nil // every shard is read to its end
		}
		orders, err := s.loadEntries(ctx, entries)
		if err != nil {
			return nil, "", err
		}
		for i, o := range orders {
			scanned, last = scanned+1, entries[i].SK
			if o != nil && (q.Status == "" || o.Status == q.Status) && (!q.Attention || o.Attention != "") && q.shipping(o) {
				out = append(out, *o)
			}
		}
	}
	if m.exhausted() {
		return out, "", nil
	}
	return out, last, nil
}

// loadEntries reads the orders behind index entries, a few at a time. An
// entry whose order is gone gives nil.
func (s *Service) loadEntries(ctx context.Context, entries []store.Item) ([]*Order, error) {
	out := make([]*Order, len(entries))
	errs := make([]error, len(entries))
	sem := make(chan struct{}, loadWorkers)
	var wg sync.WaitGroup
	for i, it := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var ix tradeIndex
			if err := json.Unmarshal(it.Value, &ix); err != nil {
				errs[i] = fmt.Errorf("order: corrupt index %s: %w", it.Key, err)
				return
			}
			cur, err := s.load(ctx, ix.Owner, it.SK)
			if errors.Is(err, ErrNotFound) {
				return
			}
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = &cur.Order
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// merge reads the shards of the all-orders index newest first and yields
// their entries merged by SK (the order id).
type merge struct {
	st     store.Store
	batch  int
	pks    []string // the collections merged
	shards []shard  // their read positions, by index in pks
}

// shard is one shard's read position: entries read but not yet taken, and
// the cursor of its next page.
type shard struct {
	buf   []store.Item
	after string
	done  bool // no page left to read (buf may still hold entries)
}

func newMerge(st store.Store, pks []string, after string, batch int) *merge {
	m := &merge{st: st, batch: batch, pks: pks, shards: make([]shard, len(pks))}
	for i := range m.shards {
		m.shards[i].after = after
	}
	return m
}

// fill reads the next page of every shard whose read entries are all taken,
// at once.
func (m *merge) fill(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(m.shards))
	for i := range m.shards {
		sh := &m.shards[i]
		if len(sh.buf) > 0 || sh.done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A page may come back empty with a cursor (expired items on
			// some backends): read on until entries or the end.
			for len(sh.buf) == 0 && !sh.done {
				items, next, err := m.st.Query(ctx, m.pks[i], store.Query{After: sh.after, Desc: true, Limit: m.batch})
				if err != nil {
					errs[i] = err
					return
				}
				sh.buf, sh.after, sh.done = items, next, next == ""
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// take returns up to n entries, newest first; none once every shard is read.
func (m *merge) take(ctx context.Context, n int) ([]store.Item, error) {
	var out []store.Item
	for len(out) < n {
		if err := m.fill(ctx); err != nil {
			return nil, err
		}
		best := -1
		for i := range m.shards {
			if b := m.shards[i].buf; len(b) > 0 && (best < 0 || b[0].SK > m.shards[best].buf[0].SK) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, m.shards[best].buf[0])
		m.shards[best].buf = m.shards[best].buf[1:]
	}
	return out, nil
}

// exhausted reports whether every entry of every shard has been taken, as
// far as the pages read so far tell.
func (m *merge) exhausted() bool {
	for i := range m.shards {
		if len(m.shards[i].buf) > 0 || !m.shards[i].done {
			return false
		}
	}
	return true
}
