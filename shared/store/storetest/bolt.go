package storetest

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

// boltBackend is always available: a real file under the test's TempDir.
func boltBackend(testing.TB) (Backend, bool) {
	return Backend{Name: "bolt", Open: OpenBolt}, true
}

// OpenBolt opens a bolt store in a new file under tb.TempDir(), reading time
// from now, and closes it in tb.Cleanup.
func OpenBolt(tb testing.TB, now func() time.Time) store.Store {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "store.db"), bolt.Options{Now: now})
	if err != nil {
		tb.Fatalf("open bolt store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close bolt store: %v", err)
		}
	})
	return st
}

// MustOpenBolt is OpenBolt on the real clock.
func MustOpenBolt(tb testing.TB) store.Store {
	tb.Helper()
	return OpenBolt(tb, time.Now)
}
