package bolt

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/minifn/minifn/shared/store"
)

// Write applies ops atomically: every condition is checked against the live
// items first, and only then is every op applied. See store.Store.
func (s *Store) Write(ctx context.Context, ops ...store.Op) error {
	if err := store.Validate(ops); err != nil {
		return err
	}
	_, err := s.write(ctx, ops)
	return err
}

// Add applies one OpAdd op and returns the counter's new value.
func (s *Store) Add(ctx context.Context, op store.Op) (int64, error) {
	if op.Kind != store.OpAdd {
		return 0, fmt.Errorf("%w: Add takes an OpAdd op", store.ErrInvalidOps)
	}
	ops := []store.Op{op}
	if err := store.Validate(ops); err != nil {
		return 0, err
	}
	return s.write(ctx, ops)
}

// write runs ops in a (possibly shared) write transaction and returns the N
// that the last op leaves.
//
// bbolt's Batch may call the function more than once (when another caller in
// the batch fails, the rest are re-run) and re-runs a function alone when it
// returns an error. So the outcome lives in variables reset on every call,
// and a condition failure returns nil: this caller writes nothing, and the
// others' writes stand.
func (s *Store) write(ctx context.Context, ops []store.Op) (int64, error) {
	if err := s.ready(ctx); err != nil {
		return 0, err
	}
	var (
		failed int
		n      int64
	)
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		failed, n, err = apply(tx, ops, s.now())
		return err
	})
	if err != nil {
		return 0, s.fail(err)
	}
	if failed >= 0 {
		return 0, &store.ConditionError{Index: failed}
	}
	return n, nil
}

// update commits fn at once when it is the only Write in flight, and
// otherwise lets DB.Batch group it with the others into one transaction.
func (s *Store) update(fn func(*bbolt.Tx) error) error {
	defer s.writers.Add(-1)
	if s.writers.Add(1) == 1 {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// apply checks every op's conditions, then applies every op. It returns the
// index of the first op whose condition fails (-1 if none) and the N that the
// last op leaves. An error means the transaction must roll back.
func apply(tx *bbolt.Tx, ops []store.Op, now time.Time) (failed int, n int64, err error) {
	items, index := tx.Bucket(bucketItems), tx.Bucket(bucketExpiry)
	keys := make([][]byte, len(ops))
	cur := make([]record, len(ops))
	present := make([]bool, len(ops))
	for i, op := range ops {
		keys[i] = itemKey(op.Item.Key)
		if v := items.Get(keys[i]); v != nil {
			if cur[i], err = decode(op.Item.Key, v); err != nil {
				return -1, 0, err
			}
			present[i] = true
		}
		if !store.Holds(op, cur[i].Item, present[i] && cur[i].live(now)) {
			return i, 0, nil
		}
	}
	for i, op := range ops {
		if op.Kind == store.OpCheck {
			continue
		}
		next, keep := store.Apply(op, cur[i].Item, present[i] && cur[i].live(now))
		if err := save(items, index, keys[i], cur[i], present[i], next, keep); err != nil {
			return -1, 0, err
		}
		n = next.N
	}
	return -1, n, nil
}

// save replaces the record old (if present) at key with next (if keep), and
// moves the item's expiry index entry along with it.
func save(items, index *bbolt.Bucket, key []byte, old record, present bool, next store.Item, keep bool) error {
	if present && old.expires {
		if err := index.Delete(expiryKey(old.expSec, key)); err != nil {
			return err
		}
	}
	if !keep {
		if !present {
			return nil
		}
		return items.Delete(key)
	}
	if !next.ExpiresAt.IsZero() {
		if err := index.Put(expiryKey(next.ExpiresAt.Unix(), key), []byte{}); err != nil {
			return err
		}
	}
	return items.Put(key, encode(next))
}
