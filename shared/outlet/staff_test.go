package outlet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store/storetest"
)

// staffIDs pages through ListStaff and returns the openids.
func staffIDs(t *testing.T, svc *outlet.Service, limit int) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		list, next, err := svc.ListStaff(context.Background(), "", after, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.GrantedAt.IsZero() {
				t.Fatalf("%s has no grant time", s.OpenID)
			}
			out = append(out, s.OpenID)
		}
		if next == "" {
			return out
		}
		after = next
	}
}

func TestListStaff(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			svc := outlet.New(b.Open(t, time.Now), outlet.Options{})
			ctx := context.Background()
			if got := staffIDs(t, svc, 10); len(got) != 0 {
				t.Fatalf("no staff yet: %v", got)
			}
			for _, id := range []string{"carol", "alice", "bob", "alice"} {
				if _, err := svc.GrantStaff(ctx, id, ""); err != nil {
					t.Fatal(err)
				}
			}
			for _, limit := range []int{1, 2, 100} {
				if got := fmt.Sprint(staffIDs(t, svc, limit)); got != "[alice bob carol]" {
					t.Fatalf("limit %d: %s", limit, got)
				}
			}
			if err := svc.RevokeStaff(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(staffIDs(t, svc, 10)); got != "[alice carol]" {
				t.Fatalf("after revoking bob: %s", got)
			}
			if ok, _ := svc.IsStaff(ctx, "bob"); ok {
				t.Fatal("bob is still staff")
			}
			if ok, _ := svc.IsStaff(ctx, "carol"); !ok {
				t.Fatal("carol is not staff")
			}
			for _, bad := range []struct {
				after string
				limit int
			}{{"", 0}, {"", 101}, {"a#b", 10}} {
				if _, _, err := svc.ListStaff(ctx, "", bad.after, bad.limit); apperr.KindOf(err) != apperr.Invalid {
					t.Fatalf("%+v: %v", bad, err)
				}
			}
		})
	}
}
