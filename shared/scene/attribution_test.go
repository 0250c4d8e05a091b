package scene

import (
	"context"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

func TestReferrerIDStableAndOpaque(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ *storetest.Clock) {
		s := New(st, Options{})
		ctx := context.Background()
		var wg sync.WaitGroup
		ids := make([]string, 16)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := s.ReferrerID(ctx, "o-alice")
				if err != nil {
					t.Error(err)
				}
				ids[i] = id
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent first calls disagree: %v", ids)
			}
		}
		if (Touch{Referrer: ids[0]}).Validate() != nil || len(ids[0]) < 20 {
			t.Fatalf("referrer id %q: not a valid, unguessable referrer", ids[0])
		}
		bob, _ := s.ReferrerID(ctx, "o-bob")
		if bob == ids[0] {
			t.Fatal("two users share a referrer id")
		}
		if got, _ := s.referrerOpenID(ctx, ids[0]); got != "o-alice" {
			t.Fatalf("id resolves to %q", got)
		}
	})
}

func TestAttributionCountsOnce(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ *storetest.Clock) {
		s := New(st, Options{})
		ctx := context.Background()
		rid, err := s.ReferrerID(ctx, "o-alice")
		if err != nil {
			t.Fatal(err)
		}
		sc, err := s.Encode(ctx, Entry{Page: "pages/index/index", Params: Params{ReferrerParam: rid}})
		if err != nil {
			t.Fatal(err)
		}
		// Bob arrives by alice's code: the referrer comes from the scene.
		first, err := s.FirstTouch(ctx, "o-bob", Touch{Scene: sc})
		if err != nil || first.Scene != sc || first.Referrer != rid {
			t.Fatalf("first touch %+v, %v", first, err)
		}
		// A later touch changes nothing.
		if again, err := s.FirstTouch(ctx, "o-bob", Touch{Scene: sc}); err != nil || again != first {
			t.Fatalf("second touch %+v, %v", again, err)
		}
		// Unknown scenes and referrer ids, raw openids and self-referrals
		// count nowhere.
		for _, tc := range []struct {
			who string
			t   Touch
		}{
			{"o-carol", Touch{Scene: "NOSUCHSCENE1"}},
			{"o-carol", Touch{Referrer: "o-alice"}},
			{"o-carol", Touch{Referrer: "UNKNOWNREFERRERID000000000"}},
			{"o-alice", Touch{Referrer: rid}},
		} {
			if got, err := s.FirstTouch(ctx, tc.who, tc.t); err != nil || got != (Touch{}) {
				t.Errorf("%s %+v: recorded %+v, %v", tc.who, tc.t, got, err)
			}
		}
		if _, err := s.FirstTouch(ctx, "o-dave", Touch{Referrer: "bad referrer!"}); err == nil {
			t.Error("a malformed referrer was accepted")
		}
		// The order records what the Mini-Program sent; paying it counts
		// once however often the payment is confirmed.
		for range 3 {
			if err := s.OrderPaid(ctx, "o-bob", "order-1", Touch{Scene: sc, Referrer: rid}, 1990); err != nil {
				t.Fatal(err)
			}
		}
		// Alice's own order through her code counts under the scene only.
		if err := s.OrderPaid(ctx, "o-alice", "order-2", Touch{Scene: sc, Referrer: rid}, 500); err != nil {
			t.Fatal(err)
		}
		if err := s.OrderPaid(ctx, "o-bob", "order-3", Touch{Referrer: "bad referrer!"}, 500); err != nil {
			t.Fatal(err)
		}
		sum, err := s.Summarize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantScene := Stat{Scene: sc, Page: "pages/index/index", Users: 1, PaidOrders: 2, PaidTotal: 2490}
		if len(sum.ByScene) != 1 || sum.ByScene[0] != wantScene {
			t.Errorf("by scene %+v, want %+v", sum.ByScene, wantScene)
		}
		wantRef := Stat{Referrer: "o-alice", Users: 1, PaidOrders: 1, PaidTotal: 1990}
		if len(sum.ByReferrer) != 1 || sum.ByReferrer[0] != wantRef {
			t.Errorf("by referrer %+v, want %+v", sum.ByReferrer, wantRef)
		}
	})
}
