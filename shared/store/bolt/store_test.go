package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
	"github.com/minifn/minifn/shared/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.OpenBolt(t, now)
	})
}

// holdEnv makes the test binary, run as a child by TestLockedByOtherProcess,
// open the file it names and hold it until its stdin closes.
const holdEnv = "MINIFN_BOLT_TEST_HOLD"

func TestHoldLock(t *testing.T) {
	path := os.Getenv(holdEnv)
	if path == "" {
		t.Skip("helper process for TestLockedByOtherProcess")
	}
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	io.Copy(io.Discard, os.Stdin)
	st.Close()
}

func TestLockedByOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	child := exec.Command(os.Args[0], "-test.run=^TestHoldLock$")
	child.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); child.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child said %q, %v", line, err)
	}

	_, err = bolt.Open(path, bolt.Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open of a locked file = %v; want ErrUnavailable", err)
	}

	// Once the other process lets go, the file opens.
	stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	st, err := bolt.Open(path, bolt.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after the other process closed: %v", err)
	}
	st.Close()
}

// bbolt locks with flock(2), which belongs to an open file, not a process:
// a second Open in the same process waits for the lock too.
func TestLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	first, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bolt.Open(path, bolt.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("second Open = %v; want ErrUnavailable", err)
	}
	first.Close()
}

func TestOpenBadPath(t *testing.T) {
	_, err := bolt.Open(filepath.Join(t.TempDir(), "missing", "store.db"), bolt.Options{})
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open in a missing directory = %v; want a plain error", err)
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	clk := storetest.NewClock(time.Time{})
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := bolt.Open(path, bolt.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := store.Key{PK: "user#1", SK: "profile"}, store.Key{PK: "rl#1", SK: "login"}
	exp := clk.Now().Add(time.Minute)
	if err := st.Write(ctx,
		store.Put(store.Item{Key: k1, Value: []byte("v"), N: 4}),
		store.Add(k2, 2).ExpiringAt(exp),
	); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, store.Put(store.Item{Key: k1, Value: []byte("w"), N: 5})); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = bolt.Open(path, bolt.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it, err := st.Get(ctx, k1)
	if err != nil || string(it.Value) != "w" || it.N != 5 || it.Version != 2 {
		t.Fatalf("after reopen: %+v, %v", it, err)
	}
	it, err = st.Get(ctx, k2)
	if err != nil || it.N != 2 || it.Version != 1 || !it.ExpiresAt.Equal(exp) {
		t.Fatalf("after reopen: %+v, %v", it, err)
	}
	// The expiry index survived too.
	clk.Advance(time.Minute)
	if n, err := st.Sweep(ctx, 10); n != 1 || err != nil {
		t.Fatalf("Sweep after reopen = %d, %v; want 1", n, err)
	}
}

func TestSweep(t *testing.T) {
	ctx := t.Context()
	clk := storetest.NewClock(time.Time{})
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := clk.Now()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	key := func(sk string) store.Key { return store.Key{PK: "p", SK: sk} }
	put := func(sk string, exp time.Time) store.Op { return store.Put(store.Item{Key: key(sk), ExpiresAt: exp}) }
	mustWrite := func(ops ...store.Op) {
		t.Helper()
		if err := st.Write(ctx, ops...); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func(max, want int) {
		t.Helper()
		if n, err := st.Sweep(ctx, max); n != want || err != nil {
			t.Fatalf("Sweep(%d) = %d, %v; want %d", max, n, err, want)
		}
	}

	mustWrite(
		put("a", at(time.Second)), put("b", at(time.Second)), put("c", at(2*time.Second)),
		put("forever", time.Time{}), put("later", at(time.Hour)),
		put("moved", at(time.Second)), put("cleared", at(time.Second)), put("deleted", at(time.Second)),
		store.Add(key("counter"), 1).ExpiringAt(at(time.Second)),
	)
	// Writes move or drop the expiry with the item.
	mustWrite(put("moved", at(time.Hour)), put("cleared", time.Time{}), store.Delete(key("deleted")))
	sweep(10, 0) // nothing has expired yet

	clk.Advance(2 * time.Second) // a, b, c and counter expire
	// A new item over an expired one is not swept.
	if _, err := st.Add(ctx, store.Add(key("counter"), 1)); err != nil {
		t.Fatal(err)
	}
	sweep(2, 2)
	sweep(10, 1)
	sweep(10, 0)
	for _, sk := range []string{"forever", "later", "moved", "cleared", "counter"} {
		if _, err := st.Get(ctx, key(sk)); err != nil {
			t.Fatalf("Get(%s) after Sweep: %v", sk, err)
		}
	}
	items, _, err := st.Query(ctx, "p", store.Query{})
	if err != nil || len(items) != 5 {
		t.Fatalf("Query after Sweep = %d items, %v; want 5", len(items), err)
	}

	// Sweep works through more than one transaction's worth.
	var ops []store.Op
	for i := range 2500 {
		ops = append(ops, store.Put(store.Item{Key: store.Key{PK: "bulk", SK: fmt.Sprintf("%04d", i)}, ExpiresAt: at(3 * time.Second)}))
		if len(ops) == store.MaxOps {
			mustWrite(ops...)
			ops = nil
		}
	}
	clk.Advance(time.Second)
	sweep(3000, 2500)
	sweep(3000, 0)
	if _, err := st.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

func TestClosed(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	k := store.Key{PK: "a", SK: "b"}
	_, errGet := st.Get(ctx, k)
	_, _, errQuery := st.Query(ctx, "a", store.Query{})
	errWrite := st.Write(ctx, store.Put(store.Item{Key: k}))
	_, errAdd := st.Add(ctx, store.Add(k, 1))
	_, errSweep := st.Sweep(ctx, 10)
	for name, err := range map[string]error{"Get": errGet, "Query": errQuery, "Write": errWrite, "Add": errAdd, "Sweep": errSweep} {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close = %v; want ErrUnavailable", name, err)
		}
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	st := storetest.MustOpenBolt(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	k := store.Key{PK: "a", SK: "b"}
	if err := st.Write(ctx, store.Put(store.Item{Key: k})); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a canceled context = %v", err)
	}
	if _, err := st.Get(t.Context(), k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get = %v; want ErrNotFound (nothing written)", err)
	}
}
