package order

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
)

// A paid table order enters its store's queue, where staff move it from
// new to serving to served (docs/tables.md). The queue is an index of its
// own, one collection per store:
//
//	order#queue#<store id> / <rank>-<paid ms, 12 hex>-<order id>   the entry (JSON QueueEntry)
//
// rank is 1 for new, 2 for serving, 3 for served, so a store's queue
// lists new orders, then serving, then served, each oldest paid first (the
// head of the queue first), and ?status= is a prefix query. The SK is the
// page cursor ("next"): URL-safe as it is. Each entry is
// written only in a Write that also puts the order conditioned on its
// version: the paid Write (the entry appears), a serve (the old entry is
// deleted and the new one put), a refund's success (the entry of an order
// refunded in full is deleted; after a partial one it shows "refunded").
// So the queue never disagrees with the orders, and listing it reads one
// collection, never the orders.

// Queue statuses of a table order (Order.TableStatus, QueueEntry.Status).
const (
	QueueNew     = "new"
	QueueServing = "serving"
	QueueServed  = "served"
)

// DefaultServedTTL is how long a served order stays in its store's queue
// (the entry then expires: store item expiry).
const DefaultServedTTL = 12 * time.Hour

// TableProgress is where a paid table order is in its store's queue;
// Order embeds it (all absent until the order is paid).
type TableProgress struct {
	TableStatus string     `json:"table_status,omitempty"` // QueueNew, QueueServing, QueueServed
	ServingAt   *time.Time `json:"serving_at,omitempty"`
	ServedAt    *time.Time `json:"served_at,omitempty"`
}

// QueueEntry is an order as its store's staff see it in the queue: what
// to bring to which table, never the buyer's openid.
type QueueEntry struct {
	OrderID   string     `json:"order_id"`
	Table     string     `json:"table"`
	Status    string     `json:"status"` // QueueNew, QueueServing, QueueServed
	Items     []Item     `json:"items"`
	Total     int64      `json:"total"`
	Refunded  int64      `json:"refunded,omitempty"` // a partial refund (a refund in full leaves the queue)
	Note      string     `json:"note,omitempty"`
	PaidAt    time.Time  `json:"paid_at"`
	ServingAt *time.Time `json:"serving_at,omitempty"`
	ServedAt  *time.Time `json:"served_at,omitempty"`
}

// Staff is who acts on a store's queue: a staff member's openid, or the
// admin token.
type Staff struct {
	OpenID string
	Admin  bool
}

var (
	// ErrNotServable is returned by Serve for an order that is not a paid
	// table order, or that is already at (or past) the status asked.
	ErrNotServable = apperr.New(apperr.Conflict, "not_servable", "the order cannot be moved to this status")
)

// queueRank orders the statuses in the queue's keys.
var queueRank = map[string]string{QueueNew: "1", QueueServing: "2", QueueServed: "3"}

func queuePK(storeID string) string { return "order#queue#" + storeID }

// queueKey is the order's entry in its store's queue, for its current
// TableStatus.
func queueKey(r *record) store.Key {
	return store.Key{PK: queuePK(r.StoreID), SK: fmt.Sprintf("%s-%012x-%s", queueRank[r.TableStatus], r.PaidAt.UnixMilli(), r.ID)}
}

func (s *Service) servedTTL() time.Duration {
	if s.o.ServedTTL <= 0 {
		return DefaultServedTTL
	}
	return s.o.ServedTTL
}

// queuePut puts the order's current entry; a served one expires.
func (s *Service) queuePut(r *record) store.Op {
	b, _ := json.Marshal(QueueEntry{OrderID: r.ID, Table: r.Table, Status: r.TableStatus, Items: r.Items,
		Total: r.Total, Refunded: r.Refunded, Note: r.Note, PaidAt: *r.PaidAt, ServingAt: r.ServingAt, ServedAt: r.ServedAt})
	it := store.Item{Key: queueKey(r), Value: b}
	if r.TableStatus == QueueServed && r.ServedAt != nil {
		it.ExpiresAt = r.ServedAt.Add(s.servedTTL()).Truncate(time.Second)
	}
	return store.Put(it)
}

// queuePaidOps enters a table order in its store's queue, in the paid
// Write (r was just made paid).
func (s *Service) queuePaidOps(r *record) []store.Op {
	if r.Table == "" || r.StoreID == "" || r.PaidAt == nil {
		return nil
	}
	r.TableStatus = QueueNew
	return []store.Op{s.queuePut(r)}
}

// queueRefundOps keeps the queue right in a refund's success Write: an
// order refunded in full leaves the queue; after a partial refund its
// entry shows what was refunded (unless, served, it expired already).
func (s *Service) queueRefundOps(r *record, now time.Time) []store.Op {
	if r.TableStatus == "" || r.PaidAt == nil {
		return nil
	}
	if r.Status == Refunded {
		return []store.Op{store.Delete(queueKey(r))}
	}
	if r.TableStatus == QueueServed && r.ServedAt != nil && !r.ServedAt.Add(s.servedTTL()).After(now) {
		return nil
	}
	return []store.Op{s.queuePut(r)}
}

// staffStore checks that a may act on store storeID ("" : any store,
// asked before the order is known) and returns the store a staff member
// works at ("" for the admin).
func (s *Service) staffStore(ctx context.Context, a Staff, storeID string) (string, error) {
	if a.Admin {
		return "", nil
	}
	if a.OpenID == "" {
		return "", ErrNoUser
	}
	if s.o.Stores == nil {
		return "", ErrNotStoreStaff.WithMessage("this shop has no stores: only the admin token")
	}
	at, err := s.o.Stores.StaffStore(ctx, a.OpenID)
	if err != nil {
		return "", err // outlet's not_staff
	}
	if at == "" || (storeID != "" && at != storeID) {
		return "", ErrNotStoreStaff.WithMessage("only the admin or staff of this store may see its queue and serve its orders")
	}
	return at, nil
}

// QueueQuery selects a page of a store's queue.
type QueueQuery struct {
	Status string // "", QueueNew, QueueServing or QueueServed
	After  string // the cursor ("next" of the page before)
	Limit  int    // 1 to 100; 0: 50
}

// Queue returns a page of store storeID's queue: new orders, then serving,
// then served (or only those of q.Status), each oldest paid first, and the
// cursor of the next page ("" when there is none). a must be the admin or
// staff of that store. Returns invalid_request errors, the Stores'
// not_staff error, ErrNotStoreStaff, store errors.
func (s *Service) Queue(ctx context.Context, a Staff, storeID string, q QueueQuery) ([]QueueEntry, string, error) {
	if !ident.Valid(storeID, 1, 64, "_-") { // outlet.ValidID's rule
		return nil, "", apperr.Invalidf("the store id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")
	}
	prefix := ""
	if q.Status != "" {
		rank, ok := queueRank[q.Status]
		if !ok {
			return nil, "", apperr.Invalidf("query parameter \"status\" must be new, serving or served")
		}
		prefix = rank + "-"
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 100 {
		return nil, "", apperr.Invalidf("query parameter \"limit\" must be 1 to 100")
	}
	if _, err := s.staffStore(ctx, a, storeID); err != nil {
		return nil, "", err
	}
	items, next, err := s.st.Query(ctx, queuePK(storeID), store.Query{Prefix: prefix, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]QueueEntry, 0, len(items))
	for _, it := range items {
		var e QueueEntry
		if err := json.Unmarshal(it.Value, &e); err != nil {
			return nil, "", fmt.Errorf("order: corrupt queue entry %s: %w", it.Key, err)
		}
		out = append(out, e)
	}
	return out, next, nil
}

// Serve moves the paid table order id forward in its store's queue, to
// "serving" or "served" (new may go straight to served). The move is one
// Write conditioned on the order's version, with the queue entry's
// delete and put: of two staff racing to the same status, one wins and
// the other gets ErrNotServable. a must be the admin or staff of the
// order's store. Returns invalid_request errors, the Stores' not_staff
// error, ErrNotStoreStaff, ErrNotFound, ErrNotServable (not a table order,
// not paid, refunded, already at or past to), store errors.
func (s *Service) Serve(ctx context.Context, a Staff, id, to string) (Order, error) {
	if to != QueueServing && to != QueueServed {
		return Order{}, apperr.Invalidf("field \"status\" must be %q or %q", QueueServing, QueueServed)
	}
	// The role first: a caller who is not staff learns nothing of the order.
	at, err := s.staffStore(ctx, a, "")
	if err != nil {
		return Order{}, err
	}
	cur, err := s.loadByTradeNo(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if !a.Admin && cur.StoreID != at {
		return Order{}, ErrNotStoreStaff.WithMessage("the order is not of your store")
	}
	out, _, err := s.update(ctx, cur.Owner, cur.ID, func(r *record) ([]store.Op, error) {
		switch {
		case r.Table == "" || r.StoreID == "":
			return nil, ErrNotServable.WithMessage("the order is not a table order")
		case r.Status != Paid && r.Status != Refunding:
			return nil, ErrNotServable.WithMessage("the order is %s", r.Status)
		case r.TableStatus == to || r.TableStatus == QueueServed:
			return nil, ErrNotServable.WithMessage("the order is already %s", r.TableStatus)
		}
		var ops []store.Op
		if r.TableStatus != "" {
			ops = append(ops, store.Delete(queueKey(r)))
		}
		now := s.o.Now().UTC()
		r.TableStatus = to
		if to == QueueServing {
			r.ServingAt = &now
		} else {
			r.ServedAt = &now
		}
		return append(ops, s.queuePut(r)), nil
	})
	return out.Order, err
}
