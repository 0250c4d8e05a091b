package giftcard_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestListAll: the merchant's list holds every user's cards newest first,
// pages by cursor, and its status filter follows each status change (the
// index moves in the same Write), with buyer and claimer.
func TestListAll(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			if got, next, err := e.g.ListAll(ctx, "", "", 10); err != nil || len(got) != 0 || next != "" {
				t.Fatalf("empty list: %v %q %v", got, next, err)
			}
			pending, err := e.g.Buy(ctx, "alice", 100, "", "")
			if err != nil {
				t.Fatal(err)
			}
			claimed := e.paidCard(t, "bob", 2345)
			revoked := e.paidCard(t, "alice", 300)
			token, _, err := e.g.Send(ctx, "bob", claimed.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.g.Claim(ctx, "carol", token); err != nil {
				t.Fatal(err)
			}
			if _, err := e.g.Revoke(ctx, "alice", revoked.ID); err != nil {
				t.Fatal(err)
			}
			ids := func(status string, limit int) []string {
				var out []string
				for after := ""; ; {
					got, next, err := e.g.ListAll(ctx, status, after, limit)
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range got {
						out = append(out, s.ID+":"+s.Status)
					}
					if next == "" {
						return out
					}
					after = next
				}
			}
			want := fmt.Sprint([]string{revoked.ID + ":revoked", claimed.ID + ":claimed", pending.Card.ID + ":pending"})
			if got := fmt.Sprint(ids("", 1)); got != want {
				t.Errorf("all, by pages of 1: %s; want %s", got, want)
			}
			for st, want := range map[string][]string{giftcard.Claimed: {claimed.ID + ":claimed"},
				giftcard.Revoked: {revoked.ID + ":revoked"}, giftcard.Pending: {pending.Card.ID + ":pending"},
				giftcard.Paid: nil, giftcard.Sent: nil} {
				if got := ids(st, 10); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("status %s: %v; want %v", st, got, want)
				}
			}
			got, _, err := e.g.ListAll(ctx, giftcard.Claimed, "", 10)
			if err != nil || len(got) != 1 || got[0].Buyer != "bob" || got[0].Claimer != "carol" || got[0].Amount != 2345 {
				t.Errorf("claimed sale: %+v, %v", got, err)
			}
			if _, _, err := e.g.ListAll(ctx, "shipped", "", 10); err != giftcard.ErrBadStatus {
				t.Errorf("bad status: %v", err)
			}
		})
	}
}
