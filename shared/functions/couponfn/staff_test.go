package couponfn_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/couponfn"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestStaffListHTTP: GET /staff lists the staff roles (admin only), paged,
// and follows grants and revocations.
func TestStaffListHTTP(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := &couponEnv{t: t, now: time.Date(2030, 6, 1, 10, 0, 0, 0, time.UTC)}
			st := b.Open(t, e.Now)
			e.sess = session.New(bytes.Repeat([]byte("k"), 32), time.Hour, couponAdminToken, e.Now)
			e.srv = httptest.NewServer(couponAPI(t, st, e.sess, e.Now, couponfn.CouponRedeem))
			t.Cleanup(e.srv.Close)

			wantError(t, "list without a token", e.do("", "GET", "/staff", nil), 401, "unauthenticated")
			wantError(t, "list as a user", e.do("clerk", "GET", "/staff", nil), 403, "forbidden")
			wantError(t, "limit 0", e.do("admin", "GET", "/staff?limit=0", nil), 400, "invalid_request")
			wantError(t, "bad cursor", e.do("admin", "GET", "/staff?after=a%23b", nil), 400, "invalid_request")

			list := func(query string) (ids []string, next string) {
				t.Helper()
				r := e.do("admin", "GET", "/staff"+query, nil)
				var out struct {
					Staff []outlet.Staff `json:"staff"`
					Next  string         `json:"next"`
				}
				if err := json.Unmarshal(r.body, &out); err != nil || r.status != 200 || out.Staff == nil {
					t.Fatalf("GET /staff%s: %d %s", query, r.status, r.body)
				}
				for _, s := range out.Staff {
					if !s.GrantedAt.Equal(e.Now()) {
						t.Fatalf("%s granted at %v", s.OpenID, s.GrantedAt)
					}
					ids = append(ids, s.OpenID)
				}
				return ids, out.Next
			}
			if ids, next := list(""); len(ids) != 0 || next != "" {
				t.Fatalf("no staff yet: %v %q", ids, next)
			}
			for _, id := range []string{"zoe", "clerk", "mia"} {
				if r := e.do("admin", "PUT", "/staff/"+id, nil); r.status != 200 {
					t.Fatalf("grant %s: %d %s", id, r.status, r.body)
				}
			}
			page1, next := list("?limit=2")
			if fmt.Sprint(page1) != "[clerk mia]" || next == "" {
				t.Fatalf("page 1: %v next %q", page1, next)
			}
			page2, next := list("?limit=2&after=" + next)
			if fmt.Sprint(page2) != "[zoe]" || next != "" {
				t.Fatalf("page 2: %v next %q", page2, next)
			}
			if r := e.do("admin", "DELETE", "/staff/mia", nil); r.status != 204 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			if ids, _ := list(""); fmt.Sprint(ids) != "[clerk zoe]" {
				t.Fatalf("after revoking mia: %v", ids)
			}
		})
	}
}
