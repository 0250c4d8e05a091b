package subscribe_test

import (
	"context"
	"testing"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/subscribe"
)

func TestPushed(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		alice := e.user("alice")
		// Before any push, reports bank credits.
		if _, err := e.svc.Record(ctx, alice, map[string]string{tmpl: "accept"}, ""); err != nil {
			t.Fatal(err)
		}
		if n := credits(t, e, alice); n != 1 {
			t.Fatalf("credits after a report: %d", n)
		}
		// A pushed accept banks one; the extra op commits with it; a
		// template the server does not send is ignored.
		mark := store.Put(store.Item{Key: store.Key{PK: "test#mark", SK: "mark"}, Value: []byte("done")})
		if err := e.svc.Pushed(ctx, alice, map[string]subscribe.Change{tmpl: subscribe.Credit, "OTHER": subscribe.Credit}, mark); err != nil {
			t.Fatal(err)
		}
		if n := credits(t, e, alice); n != 2 {
			t.Fatalf("credits after a pushed accept: %d", n)
		}
		if _, err := e.st.Get(ctx, mark.Item.Key); err != nil {
			t.Fatalf("the extra op was not written: %v", err)
		}
		if n, _ := e.svc.Credits(ctx, alice, "OTHER"); n != 0 {
			t.Fatalf("credits banked for a template never sent: %d", n)
		}
		// Now the push is authoritative: the client's report of the same
		// popup adds nothing, and says what the user holds.
		out, err := e.svc.Record(ctx, alice, map[string]string{tmpl: "accept"}, "")
		if err != nil || out.Credits[tmpl] != 2 || credits(t, e, alice) != 2 {
			t.Fatalf("report after the push: %+v %v, %d credits", out, err, credits(t, e, alice))
		}
		// Capped at MaxCredits.
		for range subscribe.MaxCredits + 2 {
			if err := e.svc.Pushed(ctx, alice, map[string]subscribe.Change{tmpl: subscribe.Credit}); err != nil {
				t.Fatal(err)
			}
		}
		if n := credits(t, e, alice); n != subscribe.MaxCredits {
			t.Fatalf("credits %d, want the cap %d", n, subscribe.MaxCredits)
		}
		// A reject clears them.
		if err := e.svc.Pushed(ctx, alice, map[string]subscribe.Change{tmpl: subscribe.Clear}); err != nil {
			t.Fatal(err)
		}
		if n := credits(t, e, alice); n != 0 {
			t.Fatalf("credits after a reject: %d", n)
		}
		// A failing extra op (its condition) fails the whole Write.
		taken := store.Put(store.Item{Key: mark.Item.Key}).IfAbsent()
		if err := e.svc.Pushed(ctx, alice, map[string]subscribe.Change{tmpl: subscribe.Credit}, taken); store.FailedOp(err) != 0 {
			t.Fatalf("failing extra op: %v", err)
		}
		if n := credits(t, e, alice); n != 0 {
			t.Fatalf("credits written although the Write failed: %d", n)
		}
	})
}
