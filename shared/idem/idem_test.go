package idem_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

type refund struct {
	OrderID string `json:"order_id"`
	Amount  int64  `json:"amount"`
}

func TestKeyIsBoundToItsRequest(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			st := b.Open(t, func() time.Time { return now })
			k, err := idem.New("refund", "admin", "r1", refund{"A", 100})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := k.Lookup(ctx, st); ok || err != nil {
				t.Fatalf("fresh key: ok=%v err=%v", ok, err)
			}
			if err := st.Write(ctx, k.Op([]byte(`{"order_id":"A"}`), now)); err != nil {
				t.Fatal(err)
			}
			got, ok, err := k.Lookup(ctx, st)
			if err != nil || !ok || string(got) != `{"order_id":"A"}` {
				t.Fatalf("same request: %s %v %v", got, ok, err)
			}
			// Same client key, same action and caller, another request.
			for name, other := range map[string]func() (idem.Key, error){
				"other target": func() (idem.Key, error) { return idem.New("refund", "admin", "r1", refund{"B", 100}) },
				"other amount": func() (idem.Key, error) { return idem.New("refund", "admin", "r1", refund{"A", 1}) },
			} {
				k2, err := other()
				if err != nil {
					t.Fatal(err)
				}
				if _, ok, err := k2.Lookup(ctx, st); ok || !errors.Is(err, idem.ErrKeyReused) {
					t.Errorf("%s: ok=%v err=%v; want ErrKeyReused", name, ok, err)
				}
				// Its Write fails on the record: the caller then looks up and is refused.
				err = st.Write(ctx, k2.Op([]byte(`{}`), now))
				if store.FailedOp(err) != 0 {
					t.Errorf("%s: Write = %v; want a condition failure on op 0", name, err)
				}
			}
			// Scopes: another caller or another action is another key.
			for _, k3 := range []func() (idem.Key, error){
				func() (idem.Key, error) { return idem.New("refund", "u1", "r1", refund{"B", 100}) },
				func() (idem.Key, error) { return idem.New("products", "admin", "r1", refund{"B", 100}) },
			} {
				k3, _ := k3()
				if _, ok, err := k3.Lookup(ctx, st); ok || err != nil {
					t.Errorf("other scope: ok=%v err=%v", ok, err)
				}
			}
		})
	}
}

func TestIsRecord(t *testing.T) {
	k, _ := idem.New("a", "c", "k", 1)
	if !idem.IsRecord(k.Op([]byte(`{}`), time.Now()).Item.Key) {
		t.Error("a record's key is not a record")
	}
	if idem.IsRecord(store.Key{PK: "order#u1", SK: "x"}) {
		t.Error("an order key is a record")
	}
}

func TestNoKeyAndBadKeys(t *testing.T) {
	k, err := idem.New("a", "c", "", 1)
	if err != nil || !k.IsZero() {
		t.Fatalf("no client key: %+v %v", k, err)
	}
	if _, ok, err := k.Lookup(context.Background(), nil); ok || err != nil {
		t.Fatalf("zero key lookup: %v %v", ok, err)
	}
	for _, bad := range []string{strings.Repeat("x", idem.MaxKeyLen+1), "a\nb", "tab\there", "\x7f"} {
		if _, err := idem.New("a", "c", bad, 1); !errors.Is(err, idem.ErrBadKey) {
			t.Errorf("key %q: %v; want ErrBadKey", bad, err)
		}
	}
	if _, err := idem.New("a", "c", "k", func() {}); err == nil {
		t.Error("a request that does not marshal was accepted")
	}
}
