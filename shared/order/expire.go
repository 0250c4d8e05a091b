package order

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/minifn/minifn/shared/store"
)

// ExpireBatch is how many pending entries the expiry job reads at a time.
const ExpireBatch = 100

// Expire closes every pending order older than the TTL, oldest first, in
// batches: each is closed at WeChat Pay first (and becomes paid instead if
// WeChat Pay says so), then its stock and coupon are released. Every order's
// transition is conditional, so two runs at once (a timer firing twice, a
// slow run overlapping the next) close each order once. closed counts the
// orders this run moved to closed. Errors on single orders do not stop the
// run; they are joined and returned at the end, and those orders are tried
// again by the next run.
func (s *Service) Expire(ctx context.Context) (closed int, err error) {
	now := s.o.Now()
	return s.walk(ctx, pendingPK, ExpireBatch, func(it store.Item) (bool, bool, error) {
		if due, ok := s.expiredAt(it.SK); ok && due.After(now) {
			return false, true, nil // the rest is younger still
		}
		did, err := s.expireOne(ctx, it)
		return did, false, err
	})
}

// walk calls f on each entry of the collection pk in key order, a page of
// batch at a time, until f says stop or ctx ends. It counts the entries f
// says it did something with, and joins f's errors: an error on one entry
// does not stop the walk, so one bad order cannot block the others.
func (s *Service) walk(ctx context.Context, pk string, batch int, f func(store.Item) (done, stop bool, err error)) (int, error) {
	var n int
	var errs []error
	after := ""
	for {
		items, next, err := s.st.Query(ctx, pk, store.Query{After: after, Limit: batch})
		if err != nil {
			return n, errors.Join(append(errs, err)...)
		}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return n, errors.Join(append(errs, err)...)
			}
			done, stop, err := f(it)
			if done {
				n++
			}
			if err != nil {
				errs = append(errs, err)
			}
			if stop {
				return n, errors.Join(errs...)
			}
		}
		if next == "" {
			return n, errors.Join(errs...)
		}
		after = next
	}
}

// entryOrder loads the order an index entry (pending, refunding) names. An
// entry whose order does not exist is deleted, and ok is false.
func (s *Service) entryOrder(ctx context.Context, it store.Item) (cur loaded, ok bool, err error) {
	var ix tradeIndex
	if err := json.Unmarshal(it.Value, &ix); err != nil {
		return loaded{}, false, err
	}
	cur, err = s.load(ctx, ix.Owner, it.SK)
	if errors.Is(err, ErrNotFound) {
		return loaded{}, false, s.st.Write(ctx, store.Delete(it.Key))
	}
	return cur, err == nil, err
}

// expireOne closes the order behind one pending entry.
func (s *Service) expireOne(ctx context.Context, it store.Item) (bool, error) {
	cur, ok, err := s.entryOrder(ctx, it)
	if !ok {
		return false, err
	}
	if cur.Status != Pending {
		// Every transition out of pending deletes the entry in its own Write,
		// so this is only reached if a run raced that transition.
		return false, nil
	}
	if cur.ExpiresAt.After(s.o.Now()) {
		return false, nil // a longer TTL when it was created: not due yet
	}
	out, changed, err := s.end(ctx, cur.record, Closed, ReasonExpired)
	return changed && out.Status == Closed, err
}
