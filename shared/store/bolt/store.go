// Package bolt implements store.Store on one bbolt file: the backend of the
// dev tool, of tests, and of a single-instance deployment.
//
// # Layout
//
// All items live in one bucket, "items", under the composite key
//
//	uint16 big-endian len(PK) | PK | SK
//
// so that one collection is one contiguous, SK-ordered key range (Query is a
// cursor walk) and a PK that is a prefix of another PK ("p" and "pa") can
// never interleave with it. One bucket rather than a bucket per PK because
// most collections hold one or a few items (a user, an idempotency record, a
// rate-limit window): nested buckets would cost a bucket header per item and
// need removing when they empty.
//
// A second bucket, "expiry", indexes every item that has an expiry under
// uint64 big-endian (epoch second XOR 1<<63) | item key, so that Sweep walks
// only what has expired instead of the whole file. Every write keeps it in
// step with the item.
//
// Values are encoded compactly (see codec.go): a flags byte, Version, N, the
// expiry in epoch seconds, then the opaque Value.
//
// # Writes
//
// Concurrent Writes are grouped by bbolt's DB.Batch into one write
// transaction and one fsync, which is what makes a flash sale fast on one
// disk. Each caller's conditions are checked inside the shared transaction
// before any of its ops is applied; a caller whose condition fails records
// that and returns nil, so it writes nothing and never rolls back the others.
// A lone writer skips the batch delay and commits at once.
//
// # Caveats
//
//   - The file is locked by one process at a time. Another process's Open
//     waits Options.LockTimeout and then fails with store.ErrUnavailable.
//   - Expired items stay in the file, invisible, until Sweep removes them;
//     a timer function calls Sweep.
//   - ExpiresAt is stored in whole epoch seconds, truncated.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/minifn/minifn/shared/store"
)

var _ store.Store = (*Store)(nil)

// Options configures Open.
type Options struct {
	// Now is the clock used for expiry; nil means time.Now.
	Now func() time.Time
	// LockTimeout is how long Open waits for the file lock held by another
	// process; 0 means 1s.
	LockTimeout time.Duration
}

// Store is a store.Store backed by one bbolt file.
type Store struct {
	db      *bbolt.DB
	now     func() time.Time
	writers atomic.Int64 // Writes in flight, to skip the batch delay when alone
	closed  atomic.Bool
}

var (
	bucketItems  = []byte("items")
	bucketExpiry = []byte("expiry")
)

// batchDelay bounds how long a Write waits for others to share its
// transaction. Measured with BenchmarkWriteParallel: shorter delays give
// smaller batches and more fsyncs; longer ones add latency with no gain.
const batchDelay = 2 * time.Millisecond

// Open opens (creating if needed) the bolt file at path. If another process
// holds the file, Open fails after o.LockTimeout with an error wrapping
// store.ErrUnavailable.
func Open(path string, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: o.LockTimeout,
		// The hashmap freelist keeps commits fast as the file grows.
		FreelistType: bbolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, store.Unavailable(fmt.Errorf("bolt: %s is locked by another process: %w", path, err))
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketItems, bucketExpiry} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: init %s: %w", path, err)
	}
	return &Store{db: db, now: o.Now}, nil
}

// Close releases the file and its lock. Later calls fail with
// store.ErrUnavailable; closing twice is harmless.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

// Get returns the live item at k, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Item, error) {
	if err := s.ready(ctx); err != nil {
		return store.Item{}, err
	}
	var it store.Item
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketItems).Get(itemKey(k))
		if v == nil {
			return nil
		}
		r, err := decode(k, v)
		if err != nil {
			return err
		}
		it, found = r.Item, r.live(s.now())
		return nil
	})
	if err != nil {
		return store.Item{}, s.fail(err)
	}
	if !found {
		return store.Item{}, store.ErrNotFound
	}
	return it, nil
}

// ready refuses work on a closed store or a finished context.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return store.Unavailable(bolterrors.ErrDatabaseNotOpen)
	}
	return ctx.Err()
}

// fail classifies an error from a bbolt transaction: a corrupt record is an
// internal error (retrying will not help); anything else (closed file, I/O)
// means the store is unavailable.
func (s *Store) fail(err error) error {
	if errors.Is(err, errCorrupt) {
		return err
	}
	return store.Unavailable(err)
}
