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
	now := s.Now()
	var errs []error
	after := ""
	for {
		items, next, qerr := s.Store.Query(ctx, pendingPK, store.Query{After: after, Limit: ExpireBatch})
		if qerr != nil {
			return closed, errors.Join(append(errs, qerr)...)
		}
		for _, it := range items {
			due, ok := s.expiredAt(it.SK)
			if ok && due.After(now) {
				return closed, errors.Join(errs...) // the rest is younger still
			}
			if err := ctx.Err(); err != nil {
				return closed, errors.Join(append(errs, err)...)
			}
			did, err := s.expireOne(ctx, it)
			if did {
				closed++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if next == "" {
			return closed, errors.Join(errs...)
		}
		after = next
	}
}

// expireOne closes the order behind one pending entry.
func (s *Service) expireOne(ctx context.Context, it store.Item) (bool, error) {
	var ix tradeIndex
	if err := json.Unmarshal(it.Value, &ix); err != nil {
		return false, err
	}
	cur, err := s.load(ctx, ix.Owner, it.SK)
	if errors.Is(err, ErrNotFound) {
		return false, s.Store.Write(ctx, store.Delete(it.Key))
	}
	if err != nil {
		return false, err
	}
	if cur.Status != Pending {
		// Every transition out of pending deletes the entry in its own Write,
		// so this is only reached if a run raced that transition.
		return false, nil
	}
	if cur.ExpiresAt.After(s.Now()) {
		return false, nil // a longer TTL when it was created: not due yet
	}
	out, changed, err := s.end(ctx, cur.record, Closed, ReasonExpired)
	return changed && out.Status == Closed, err
}
