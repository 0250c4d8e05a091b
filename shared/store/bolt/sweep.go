package bolt

import (
	"bytes"
	"context"
	"time"

	"go.etcd.io/bbolt"
)

// sweepChunk bounds one Sweep transaction, so that writers are not held up
// behind a long delete.
const sweepChunk = 1000

// Sweep deletes up to limit expired items and returns how many it removed.
// Expired items are already invisible; Sweep only reclaims their space
// (idempotency records and rate-limit windows would otherwise pile up). A
// timer function calls it; it walks the expiry index, so its cost follows
// what has expired, not the size of the file.
func (s *Store) Sweep(ctx context.Context, limit int) (removed int, err error) {
	for removed < limit {
		if err := s.ready(ctx); err != nil {
			return removed, err
		}
		var n int
		var more bool
		err := s.db.Update(func(tx *bbolt.Tx) error {
			var err error
			n, more, err = sweep(tx, min(limit-removed, sweepChunk), s.now())
			return err
		})
		if err != nil {
			return removed, s.fail(err)
		}
		removed += n
		if !more {
			break
		}
	}
	return removed, nil
}

// sweep deletes up to limit items whose expiry is at or before now, with their
// index entries. more says whether the index may hold further expired
// entries.
func sweep(tx *bbolt.Tx, limit int, now time.Time) (removed int, more bool, err error) {
	items, index := tx.Bucket(bucketItems), tx.Bucket(bucketExpiry)
	// Collect first: deleting under a bbolt cursor can skip the next key.
	var due [][]byte
	c := index.Cursor()
	for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
		if now.Before(time.Unix(expirySecond(k), 0)) {
			break
		}
		due = append(due, bytes.Clone(k))
	}
	for _, ik := range due {
		if err := index.Delete(ik); err != nil {
			return removed, false, err
		}
		key := ik[8:]
		v := items.Get(key)
		if v == nil {
			continue
		}
		k, err := splitKey(key)
		if err != nil {
			return removed, false, err
		}
		r, err := decode(k, v)
		if err != nil {
			return removed, false, err
		}
		// Writes move the index entry with the item, so this holds; checking
		// keeps a live item safe from a stale entry all the same.
		if r.live(now) {
			continue
		}
		if err := items.Delete(key); err != nil {
			return removed, false, err
		}
		removed++
	}
	return removed, len(due) == limit, nil
}
