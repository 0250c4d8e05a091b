package scene

import (
	"context"
	"errors"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// fakeStores is an outlet stand-in: stores s1 and s2;
// staff1 works at s1, staff2 at s2, roamer at no one store; anyone else
// is not staff.
type fakeStores struct{}

var (
	errStoreNotFound = apperr.New(apperr.NotFound, "store_not_found", "no such store")
	errNotStaff      = apperr.New(apperr.Forbidden, "not_staff", "not staff")
)

func (fakeStores) CheckExists(_ context.Context, id string) error {
	if id == "s1" || id == "s2" {
		return nil
	}
	return errStoreNotFound
}

func (fakeStores) StaffStore(_ context.Context, openid string) (string, error) {
	switch openid {
	case "staff1":
		return "s1", nil
	case "staff2":
		return "s2", nil
	case "roamer":
		return "", nil
	}
	return "", errNotStaff
}

// TestTableCodes: only the admin (for a store that exists) or staff of
// that store make a table code; its scene stands for exactly
// {"store_id","table"} and Table reads them back; nothing a user or staff
// of another store can make passes Table.
func TestTableCodes(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *storetest.Clock) {
		ev := newCodeEnv(t, st, clk)
		ev.svc.o.Stores = fakeStores{}
		ctx := context.Background()
		table := func(store, tbl string) CodeRequest {
			return CodeRequest{Page: "pages/table/index", Params: Params{"store_id": store, "table": tbl}}
		}

		c, err := ev.svc.Code(ctx, Caller{OpenID: "staff1"}, table("s1", "A3"))
		if err != nil {
			t.Fatal(err)
		}
		if sid, tbl, err := ev.svc.Table(ctx, c.Scene); err != nil || sid != "s1" || tbl != "A3" {
			t.Fatalf("Table(%s) = %q %q %v", c.Scene, sid, tbl, err)
		}
		if e, _ := ev.svc.Lookup(ctx, c.Scene); len(e.Params) != 2 {
			t.Fatalf("a staff table code carries %v: no referrer may be added", e.Params)
		}
		// The admin, for a store that exists; the same params give the
		// same scene (whoever asks).
		if a, err := ev.svc.Code(ctx, Caller{Admin: true}, table("s1", "A3")); err != nil || a.Scene != c.Scene {
			t.Fatalf("admin: %v scene %s, want %s", err, a.Scene, c.Scene)
		}
		if _, err := ev.svc.Code(ctx, Caller{Admin: true}, table("s2", "1")); err != nil {
			t.Fatalf("admin, store s2: %v", err)
		}

		refused := []struct {
			name string
			c    Caller
			req  CodeRequest
			code string
		}{
			{"staff of another store", Caller{OpenID: "staff2"}, table("s1", "9"), "not_store_staff"},
			{"staff of no one store", Caller{OpenID: "roamer"}, table("s1", "9"), "not_store_staff"},
			{"a user", Caller{OpenID: "alice"}, table("s1", "9"), "not_staff"},
			{"the admin, unknown store", Caller{Admin: true}, table("s9", "1"), "store_not_found"},
			{"extra params", Caller{OpenID: "staff1"}, CodeRequest{Params: Params{"store_id": "s1", "table": "1", "x": "y"}}, "invalid_request"},
			{"no store", Caller{OpenID: "staff1"}, CodeRequest{Params: Params{"table": "1"}}, "invalid_request"},
			{"long table", Caller{Admin: true}, table("s1", "12345678901234567"), "invalid_request"},
			{"control character", Caller{Admin: true}, table("s1", "a\tb"), "invalid_request"},
			{"a user's forged referrer", Caller{OpenID: "alice"}, CodeRequest{Params: Params{"store_id": "s1", "table": "1", "referrer": "x"}}, "invalid_request"},
		}
		for _, r := range refused {
			if _, err := ev.svc.Code(ctx, r.c, r.req); err == nil || apperr.CodeOf(err) != r.code {
				t.Errorf("%s: %v, want %s", r.name, err, r.code)
			}
		}

		// Scenes that are not table codes: a user's share code with the
		// same two params plus their referrer, a staff code with more
		// params, an unknown scene.
		share, err := ev.svc.Code(ctx, Caller{OpenID: "alice"}, CodeRequest{Page: "pages/table/index", Params: Params{"store_id": "s1"}})
		if err != nil {
			t.Fatal(err)
		}
		other, err := ev.svc.Encode(ctx, Entry{Page: "pages/table/index", Params: Params{"store_id": "s1", "tbl": "9"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range []string{share.Scene, other, "nosuchscene0", "bad scene"} {
			if _, _, err := ev.svc.Table(ctx, sc); !errors.Is(err, ErrNotTable) {
				t.Errorf("Table(%q) = %v, want ErrNotTable", sc, err)
			}
		}

		// Without stores, no table code at all.
		ev.svc.o.Stores = nil
		if _, err := ev.svc.Code(ctx, Caller{Admin: true}, table("s1", "B")); !errors.Is(err, ErrNoStores) {
			t.Errorf("no stores: %v", err)
		}
	})
}
