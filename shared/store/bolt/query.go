package bolt

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/minifn/minifn/shared/store"
)

// Query limits (see store.Query).
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Query returns the live items of collection pk in SK order, and the SK to
// pass as After for the next page when more live items follow.
func (s *Store) Query(ctx context.Context, pk string, q store.Query) ([]store.Item, string, error) {
	if err := s.ready(ctx); err != nil {
		return nil, "", err
	}
	if pk == "" || len(pk) > 512 {
		return nil, "", fmt.Errorf("%w: query of an empty or oversized PK", store.ErrInvalidOps)
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = defaultLimit
	case limit > maxLimit:
		limit = maxLimit
	}
	var (
		items []store.Item
		next  string
	)
	err := s.db.View(func(tx *bbolt.Tx) error {
		now := s.now()
		coll := collection(pk)
		prefix := itemKey(store.Key{PK: pk, SK: q.Prefix})
		c := tx.Bucket(bucketItems).Cursor()
		step := c.Next
		if q.Desc {
			step = c.Prev
		}
		for k, v := start(c, pk, prefix, q); k != nil && bytes.HasPrefix(k, prefix); k, v = step() {
			r, err := decode(store.Key{PK: pk, SK: string(k[len(coll):])}, v)
			if err != nil {
				return err
			}
			if !r.live(now) {
				continue
			}
			if len(items) == limit {
				next = items[limit-1].SK
				break
			}
			items = append(items, r.Item)
		}
		return nil
	})
	if err != nil {
		return nil, "", s.fail(err)
	}
	return items, next, nil
}

// start positions c on the first key of the page: the first key at or after
// prefix and after q.After, or (Desc) the last key before both the end of
// prefix's range and q.After. The caller stops at the first key without
// prefix.
func start(c *bbolt.Cursor, pk string, prefix []byte, q store.Query) ([]byte, []byte) {
	var after []byte
	if q.After != "" {
		after = itemKey(store.Key{PK: pk, SK: q.After})
	}
	if !q.Desc {
		target := prefix
		if after != nil && bytes.Compare(after, target) > 0 {
			target = after
		}
		k, v := c.Seek(target)
		if after != nil && bytes.Equal(k, after) {
			return c.Next()
		}
		return k, v
	}
	upper := successor(prefix)
	if after != nil && (upper == nil || bytes.Compare(after, upper) < 0) {
		upper = after
	}
	if upper == nil {
		return c.Last()
	}
	if k, _ := c.Seek(upper); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// successor returns the smallest byte string greater than every string that
// starts with p, or nil if there is none (p is all 0xff).
func successor(p []byte) []byte {
	s := bytes.Clone(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}
