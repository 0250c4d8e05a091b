package postgres_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/postgres"
	"github.com/minifn/minifn/shared/store/storetest"
)

func needPostgres(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		storetest.NoticePostgresSkipped()
		t.Skipf("set %s=postgres://… to run the PostgreSQL tests (see README)", storetest.PostgresEnv)
	}
}

func TestContract(t *testing.T) {
	needPostgres(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.OpenPostgres(t, now)
	})
}

// TestColdStarts opens many stores on one empty schema at once, as a burst
// of new function instances would: each creates the table on first use, and
// every one of their writes must succeed.
func TestColdStarts(t *testing.T) {
	needPostgres(t)
	url := storetest.PostgresSchema(t)
	ctx := context.Background()
	const instances = 8
	var wg sync.WaitGroup
	errs := make(chan error, instances)
	for i := range instances {
		wg.Go(func() {
			st, err := postgres.Open(ctx, url, postgres.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			errs <- st.Write(ctx, store.Put(store.Item{Key: store.Key{PK: "cold", SK: strconv.Itoa(i)}}))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("cold start: %v", err)
		}
	}
	st, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	items, _, err := st.Query(ctx, "cold", store.Query{})
	if err != nil || len(items) != instances {
		t.Fatalf("after cold starts: %d items, %v; want %d", len(items), err, instances)
	}
}

// TestCreateRace has many instances put the same new key if absent: exactly
// one wins, the others see a condition failure (never an error or a second
// winner), whatever the interleaving of their inserts.
func TestCreateRace(t *testing.T) {
	needPostgres(t)
	url := storetest.PostgresSchema(t)
	ctx := context.Background()
	const writers = 16
	stores := make([]*postgres.Store, 4)
	for i := range stores {
		st, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[i] = st
	}
	for round := range 5 {
		k := store.Key{PK: "race", SK: strconv.Itoa(round)}
		var wg sync.WaitGroup
		results := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				results <- stores[i%len(stores)].Write(ctx,
					store.Put(store.Item{Key: k, Value: []byte(strconv.Itoa(i))}).IfAbsent(),
					store.Add(store.Key{PK: "race", SK: "wins"}, 1))
			})
		}
		wg.Wait()
		close(results)
		wins := 0
		for err := range results {
			switch {
			case err == nil:
				wins++
			case store.FailedOp(err) != 0:
				t.Fatalf("round %d: %v, want a condition failure on op 0", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, wins)
		}
	}
	it, err := stores[0].Get(ctx, store.Key{PK: "race", SK: "wins"})
	if err != nil || it.N != 5 {
		t.Fatalf("wins counter = %+v, %v; want 5", it, err)
	}
}

// TestLazyOpen: Open makes no connection, so it succeeds against a server
// that is down; the first call then reports ErrUnavailable.
func TestLazyOpen(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st, err := postgres.Open(context.Background(), "postgres://u:secret@"+addr+"/db?sslmode=disable", postgres.Options{})
	if err != nil {
		t.Fatalf("Open against a server that is down: %v", err)
	}
	defer st.Close()
	if got := st.MaxConns(); got != 2 {
		t.Errorf("default pool size %d, want 2", got)
	}
	_, err = st.Get(context.Background(), store.Key{PK: "a", SK: "b"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get with the server down: %v, want ErrUnavailable", err)
	}
	err = st.Write(context.Background(), store.Put(store.Item{Key: store.Key{PK: "a", SK: "b"}}))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Write with the server down: %v, want ErrUnavailable", err)
	}

	big, err := postgres.Open(context.Background(), "postgres://u@"+addr+"/db?pool_max_conns=7", postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if got := big.MaxConns(); got != 7 {
		t.Errorf("pool_max_conns=7 gave %d", got)
	}
}

func TestBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:hunter2@[::1", postgres.Options{})
	if err == nil {
		t.Fatal("Open accepted a malformed URL")
	}
	if s := err.Error(); strings.Contains(s, "hunter2") {
		t.Fatalf("error %q shows the password", s)
	}
}
