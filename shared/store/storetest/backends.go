package storetest

import (
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// Backend is one store implementation that domain tests run against.
type Backend struct {
	Name string
	// Open returns a new, empty store that reads time from now; it is closed
	// by tb.Cleanup.
	Open func(tb testing.TB, now func() time.Time) store.Store
}

// Backends returns every backend available in this environment, for domain
// tests to loop over:
//
//	for _, b := range storetest.Backends(t) {
//		t.Run(b.Name, func(t *testing.T) { st := b.Open(t, clock.Now); … })
//	}
//
// Each backend has its own file with a func(testing.TB) (Backend, bool)
// that says whether it can run here (logging why not); add one line below.
func Backends(tb testing.TB) []Backend {
	tb.Helper()
	var bs []Backend
	for _, available := range []func(testing.TB) (Backend, bool){
		boltBackend,
		dynamoBackend,
		postgresBackend,
	} {
		if b, ok := available(tb); ok {
			bs = append(bs, b)
		}
	}
	return bs
}
