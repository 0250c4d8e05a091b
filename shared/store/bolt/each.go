package bolt

import (
	"context"

	"go.etcd.io/bbolt"

	"github.com/minifn/minifn/shared/store"
)

// Each calls fn with every live item of the file, in key order (PK length,
// PK, SK), in one read transaction; it stops at fn's first error. It is not
// part of store.Store: no domain code lists every collection. It is for
// dumps and for tests that pin what the domain packages store (the stored
// golden of cmd/minifn).
func (s *Store) Each(ctx context.Context, fn func(store.Item) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) error {
		now := s.now()
		return tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			key, err := splitKey(k)
			if err != nil {
				return err
			}
			r, err := decode(key, v)
			if err != nil {
				return err
			}
			if !r.live(now) {
				return nil
			}
			return fn(r.Item)
		})
	})
}
