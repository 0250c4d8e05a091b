package orderfn_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/product"
)

// TestOrdersOfAStoreHTTP: the admin lists one store's orders
// (GET /orders?store_id=), newest first and paged, from the store's own
// index; a user may not filter by store.
func TestOrdersOfAStoreHTTP(t *testing.T) {
	sgEach(t, func(t *testing.T, e *orderfntest.Env, ids map[string]string) {
		ctx := context.Background()
		if _, err := e.Products.Put(ctx, product.Product{SKU: "soap", Title: "香皂", Price: 500, Stock: ptrInt(20), Active: true}); err != nil {
			t.Fatal(err)
		}
		var s1 []string
		for i := range 3 {
			s1 = append(s1, sgOrder(t, e, ids["s1"], "u1", "soap"))
			if i == 1 {
				payOrder(t, e, s1[i])
			}
			e.Clock.Advance(2 * time.Millisecond) // ids sort by their millisecond
		}
		s2 := sgOrder(t, e, ids["s2"], "u2", "soap")
		online, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "soap", "quantity": 1}}}, "")

		list := func(query string) ([]string, string) {
			t.Helper()
			status, out, _ := e.Do(t, "GET", "/orders?"+query, "admin", nil)
			if status != http.StatusOK {
				t.Fatalf("GET /orders?%s: %d %v", query, status, out)
			}
			var got []string
			for _, o := range out["orders"].([]any) {
				got = append(got, o.(map[string]any)["id"].(string))
			}
			next, _ := out["next"].(string)
			return got, next
		}
		got, next := list("store_id=" + ids["s1"])
		if len(got) != 3 || got[0] != s1[2] || got[1] != s1[1] || got[2] != s1[0] || next != "" {
			t.Fatalf("store s1: %v (next %q); want %v newest first", got, next, s1)
		}
		if got, _ := list("store_id=" + ids["s2"]); len(got) != 1 || got[0] != s2 {
			t.Fatalf("store s2: %v; want [%s] (not the online order %s)", got, s2, online["id"])
		}
		if got, _ := list("store_id=" + ids["s1"] + "&status=paid"); len(got) != 1 || got[0] != s1[1] {
			t.Fatalf("store s1, paid: %v; want [%s]", got, s1[1])
		}
		page1, next := list("store_id=" + ids["s1"] + "&limit=2")
		page2, end := list("store_id=" + ids["s1"] + "&limit=2&after=" + next)
		if len(page1) != 2 || next == "" || len(page2) != 1 || page2[0] != s1[0] || end != "" {
			t.Fatalf("pages: %v next %q, %v next %q", page1, next, page2, end)
		}
		if got, _ := list("store_id=" + ids["s3"]); len(got) != 0 {
			t.Fatalf("a store without orders: %v", got)
		}
		if status, _, code := e.Do(t, "GET", "/orders?store_id="+ids["s1"], "u1", nil); status != http.StatusForbidden {
			t.Fatalf("a user filtering by store: %d %s; want 403", status, code)
		}
		if status, _, code := e.Do(t, "GET", "/orders?store_id=a%20b", "admin", nil); status != http.StatusBadRequest {
			t.Fatalf("a malformed store_id: %d %s; want 400", status, code)
		}
	})
}
