package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

// boltLockWait is how long one attempt waits for a bolt file that another
// process holds. It is short so that a request arriving while the file is
// held is answered 503 at once rather than held for the whole wait.
const boltLockWait = 100 * time.Millisecond

// openBolt opens the bolt file at path. When another process holds it (a
// second `minifn dev`, an admin tool, the previous instance still shutting
// down), the function must still start and answer 503 store_unavailable
// with Retry-After until the file is free, as the network backends do when
// their database is down; so a held file gives a lazyBolt, which retries on
// each call. Any other failure (bad path, corrupt file) stays a start error.
func openBolt(path string, now func() time.Time) (store.Store, error) {
	st, err := bolt.Open(path, bolt.Options{Now: now, LockTimeout: boltLockWait})
	if errors.Is(err, store.ErrUnavailable) {
		return &lazyBolt{path: path, now: now}, nil
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// lazyBolt is a store.Store over a bolt file that was held by another
// process at start. Every call first tries to open the file (one attempt of
// boltLockWait) until that succeeds, then forwards to the opened store.
// While the file is held, calls fail with bolt.Open's error, which wraps
// store.ErrUnavailable, and nothing is written.
type lazyBolt struct {
	path string
	now  func() time.Time

	st     atomic.Pointer[bolt.Store] // set once opened
	mu     sync.Mutex                 // serialises attempts to open, and Close
	closed bool
}

var _ store.Store = (*lazyBolt)(nil)

// open returns the opened store, trying once to open it if need be.
func (l *lazyBolt) open() (*bolt.Store, error) {
	if st := l.st.Load(); st != nil {
		return st, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.st.Load(); st != nil {
		return st, nil
	}
	if l.closed {
		return nil, store.Unavailable(errors.New("bolt: store closed"))
	}
	st, err := bolt.Open(l.path, bolt.Options{Now: l.now, LockTimeout: boltLockWait})
	if err != nil {
		return nil, err
	}
	l.st.Store(st)
	return st, nil
}

func (l *lazyBolt) Get(ctx context.Context, k store.Key) (store.Item, error) {
	st, err := l.open()
	if err != nil {
		return store.Item{}, err
	}
	return st.Get(ctx, k)
}

func (l *lazyBolt) Query(ctx context.Context, pk string, q store.Query) ([]store.Item, string, error) {
	st, err := l.open()
	if err != nil {
		return nil, "", err
	}
	return st.Query(ctx, pk, q)
}

func (l *lazyBolt) Write(ctx context.Context, ops ...store.Op) error {
	st, err := l.open()
	if err != nil {
		return err
	}
	return st.Write(ctx, ops...)
}

func (l *lazyBolt) Add(ctx context.Context, op store.Op) (int64, error) {
	st, err := l.open()
	if err != nil {
		return 0, err
	}
	return st.Add(ctx, op)
}

// Close closes the file if it was opened; later calls fail with
// store.ErrUnavailable.
func (l *lazyBolt) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if st := l.st.Load(); st != nil {
		return st.Close()
	}
	return nil
}
