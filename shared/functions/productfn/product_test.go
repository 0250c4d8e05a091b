package productfn_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
)

// each runs f on a fresh order environment per available backend.
func each(t *testing.T, f func(t *testing.T, e *orderfntest.Env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, orderfntest.New(t, b, ordertest.Options{})) })
	}
}

// admin posts a product edit with the admin token.
func admin(t *testing.T, e *orderfntest.Env, body map[string]any) (int, map[string]any) {
	t.Helper()
	s, out, _ := e.Do(t, "POST", "/products", "admin", body)
	return s, out
}

// listed returns GET /products as user ("" anonymous, "admin"), by sku.
func listed(t *testing.T, e *orderfntest.Env, user, query string) map[string]map[string]any {
	t.Helper()
	s, out, _ := e.Do(t, "GET", "/products"+query, user, nil)
	if s != http.StatusOK {
		t.Fatalf("GET /products%s as %q: %d %v", query, user, s, out)
	}
	m := map[string]map[string]any{}
	list, _ := out["products"].([]any)
	for _, p := range list {
		p := p.(map[string]any)
		m[p["sku"].(string)] = p
	}
	return m
}

// load is what the console does before an edit: read the product from the
// admin list.
func load(t *testing.T, e *orderfntest.Env, sku string) map[string]any {
	t.Helper()
	p, ok := listed(t, e, "admin", "")[sku]
	if !ok {
		t.Fatalf("product %s not listed to the admin", sku)
	}
	return p
}

func productOf(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	p, ok := out["product"].(map[string]any)
	if !ok {
		t.Fatalf("no product in %v", out)
	}
	return p
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// order places an order of quantity units of sku for user; it reports
// whether it was created.
func order(t *testing.T, e *orderfntest.Env, user, sku string, quantity int) (bool, error) {
	s, out, _ := e.Do(t, "POST", "/orders", user, map[string]any{"items": []any{map[string]any{"sku": sku, "quantity": quantity}}},
		"Idempotency-Key", user+"-"+sku)
	switch {
	case s == http.StatusCreated:
		return true, nil
	case s == http.StatusConflict && errCode(out) == "sold_out":
		return false, nil
	}
	return false, fmt.Errorf("order %s for %s: %d %v", sku, user, s, out)
}

// TestEditWhileSelling is the lost update of issue 13: the merchant loads a
// product with 5 in stock, three orders sell a unit each, then the console
// saves an edit. No unit may come back from nowhere: a title edit leaves the
// stock alone, and a stock change is applied to what is left now.
func TestEditWhileSelling(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(5))
		loaded := load(t, e, "tea")
		if loaded["stock"] != 5.0 || loaded["version"] == nil {
			t.Fatalf("loaded %v: want stock 5 and a version", loaded)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := order(t, e, fmt.Sprintf("buyer%d", i), "tea", 1); err != nil || !ok {
					errs <- fmt.Errorf("order %d: created %v, %v", i, ok, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		// The console's title edit: only the changed field, with the version loaded.
		s, out := admin(t, e, map[string]any{"sku": "tea", "if_version": loaded["version"], "title": "Longjing 2026"})
		if s != http.StatusOK {
			t.Fatalf("title edit after the sales: %d %v", s, out)
		}
		p := productOf(t, out)
		if p["title"] != "Longjing 2026" || p["stock"] != 2.0 || p["price"] != 1000.0 {
			t.Fatalf("after the title edit: %v; want stock 5-3 = 2, price kept", p)
		}
		if e.Stock(t, "tea") != 2 {
			t.Fatalf("stock %d after a title edit, want 2", e.Stock(t, "tea"))
		}

		// An edit that lands while orders sell neither waits for them to
		// stop nor answers 409, and leaves the sold units sold.
		v := productOf(t, out)["version"]
		errs = make(chan error, 3)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := order(t, e, fmt.Sprintf("late%d", i), "tea", 1); err != nil || !ok {
					errs <- fmt.Errorf("late order %d: created %v, %v", i, ok, err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s, out := admin(t, e, map[string]any{"sku": "tea", "if_version": v, "price": 1100}); s != http.StatusOK {
				errs <- fmt.Errorf("price edit while selling: %d %v", s, out)
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		p = load(t, e, "tea")
		if p["stock"] != 0.0 || p["price"] != 1100.0 || p["title"] != "Longjing 2026" {
			t.Fatalf("after the edit raced two sales: %v; want stock 0, price 1100", p)
		}

		// A stock change goes as a delta, applied to what is left when it
		// lands (a form loaded with 5 and saved with 8 sends +3).
		s, out = admin(t, e, map[string]any{"sku": "tea", "if_version": p["version"], "stock_delta": 3})
		if s != http.StatusOK || productOf(t, out)["stock"] != 3.0 || e.Stock(t, "tea") != 3 {
			t.Fatalf("stock_delta +3 on 0 left: %d %v (stock %d), want 3", s, out, e.Stock(t, "tea"))
		}
	})
}

// TestVersionConflict: two merchants load the same product and edit it; the
// second save carries a stale if_version and gets 409 version_conflict,
// naming the current version, and changes nothing.
func TestVersionConflict(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(5))
		a, b := load(t, e, "tea"), load(t, e, "tea")
		s, out := admin(t, e, map[string]any{"sku": "tea", "if_version": a["version"], "title": "A's title"})
		if s != http.StatusOK {
			t.Fatalf("first edit: %d %v", s, out)
		}
		now := productOf(t, out)["version"].(float64)
		if now == b["version"].(float64) {
			t.Fatalf("an edit left the version at %v", now)
		}
		s, out = admin(t, e, map[string]any{"sku": "tea", "if_version": b["version"], "price": 1500})
		if s != http.StatusConflict || errCode(out) != "version_conflict" || !strings.Contains(errMessage(out), fmt.Sprint(now)) {
			t.Fatalf("stale edit: %d %v; want 409 version_conflict naming version %v", s, out, now)
		}
		p := load(t, e, "tea")
		if p["title"] != "A's title" || p["price"] != 1000.0 || p["version"] != now {
			t.Fatalf("after the refused edit: %v", p)
		}
		// A stale stock_delta is refused too.
		s, out = admin(t, e, map[string]any{"sku": "tea", "if_version": b["version"], "stock_delta": 1})
		if s != http.StatusConflict || errCode(out) != "version_conflict" || e.Stock(t, "tea") != 5 {
			t.Fatalf("stale stock_delta: %d %v, stock %d", s, out, e.Stock(t, "tea"))
		}
		// Orders selling units do not make the loaded version stale.
		if ok, err := order(t, e, "buyer", "tea", 2); err != nil || !ok {
			t.Fatalf("order: %v %v", ok, err)
		}
		s, out = admin(t, e, map[string]any{"sku": "tea", "if_version": now, "price": 1500})
		if s != http.StatusOK || productOf(t, out)["stock"] != 3.0 {
			t.Fatalf("edit after a sale: %d %v", s, out)
		}
	})
}

// TestStockDeltaRace: orders and stock_delta adjustments race on one
// product; every adjustment lands on the stock as it is, so the stock ends at
// initial − sold + Σ deltas, and never below 0.
func TestStockDeltaRace(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		const initial, buyers = 20, 15
		deltas := []int{+2, +2, +2, +2, +2, -1, -1}
		e.Product(t, "tea", 1000, ptrInt(initial))
		var wg sync.WaitGroup
		var mu sync.Mutex
		sold, moved := 0, 0
		errs := make(chan error, buyers+len(deltas))
		for i := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := order(t, e, fmt.Sprintf("buyer%d", i), "tea", 1)
				if err != nil {
					errs <- err
				}
				if ok {
					mu.Lock()
					sold++
					mu.Unlock()
				}
			}()
		}
		for i, d := range deltas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"sku": "tea", "stock_delta": d}
				if i%2 == 0 {
					body["title"] = fmt.Sprintf("title %d", i) // a field edit and a delta in one save
				}
				s, out := admin(t, e, body)
				if s != http.StatusOK {
					errs <- fmt.Errorf("stock_delta %+d: %d %v", d, s, out)
					return
				}
				mu.Lock()
				moved += d
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// initial − buyers − 2 ≥ 0: every order and every adjustment fits.
		if sold != buyers || moved != 8 {
			t.Fatalf("sold %d of %d, moved %d of 8", sold, buyers, moved)
		}
		if got, want := e.Stock(t, "tea"), int64(initial-sold+moved); got != want {
			t.Fatalf("stock %d, want %d − %d + %d = %d", got, initial, sold, moved, want)
		}
	})
}

// TestStockDeltaRules: stock_delta never takes the stock below 0, needs a
// limited product, and does not go with stock.
func TestStockDeltaRules(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(2))
		e.Product(t, "free", 500, nil)
		for _, tc := range []struct {
			body   map[string]any
			status int
			code   string
		}{
			{map[string]any{"sku": "tea", "stock_delta": -3}, http.StatusConflict, "stock_negative"},
			{map[string]any{"sku": "tea", "stock": 4, "stock_delta": 1}, http.StatusBadRequest, "invalid_request"},
			{map[string]any{"sku": "free", "stock_delta": 1}, http.StatusConflict, "stock_unlimited"},
			{map[string]any{"sku": "nope", "stock_delta": 1, "title": "x", "price": 100}, http.StatusNotFound, "product_not_found"},
			{map[string]any{"sku": "nope", "if_version": 1, "title": "x", "price": 100}, http.StatusNotFound, "product_not_found"},
			{map[string]any{"sku": "tea", "if_version": 0, "title": "x"}, http.StatusConflict, "version_conflict"},
			{map[string]any{"sku": "tea", "if_version": -1}, http.StatusBadRequest, "invalid_request"},
			{map[string]any{"sku": "new", "title": "x"}, http.StatusBadRequest, "invalid_request"}, // a create needs a price
			{map[string]any{"sku": "new", "price": 100}, http.StatusBadRequest, "invalid_request"}, // and a title
		} {
			s, out := admin(t, e, tc.body)
			if s != tc.status || errCode(out) != tc.code {
				t.Errorf("%v: %d %v; want %d %s", tc.body, s, out, tc.status, tc.code)
			}
		}
		if e.Stock(t, "tea") != 2 {
			t.Fatalf("stock %d after refused edits, want 2", e.Stock(t, "tea"))
		}
		if s, out := admin(t, e, map[string]any{"sku": "tea", "stock_delta": -2}); s != http.StatusOK || productOf(t, out)["stock"] != 0.0 {
			t.Fatalf("stock_delta to exactly 0: %d %v", s, out)
		}
		// if_version 0: create only.
		if s, out := admin(t, e, map[string]any{"sku": "new", "if_version": 0, "title": "New", "price": 100, "stock": 1}); s != http.StatusCreated || productOf(t, out)["version"] != 1.0 {
			t.Fatalf("create with if_version 0: %d %v", s, out)
		}
	})
}

// TestPartialReplace: without if_version a POST still creates or replaces,
// but only the fields it carries change.
func TestPartialReplace(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		s, out := admin(t, e, map[string]any{"sku": "tea", "title": "Tea", "price": 1000, "stock": 5, "active": false})
		if s != http.StatusCreated || productOf(t, out)["version"] != 1.0 {
			t.Fatalf("create: %d %v", s, out)
		}
		s, out = admin(t, e, map[string]any{"sku": "tea", "price": 1200})
		p := productOf(t, out)
		if s != http.StatusOK || p["title"] != "Tea" || p["price"] != 1200.0 || p["stock"] != 5.0 || p["active"] != false || p["version"] != 2.0 {
			t.Fatalf("price-only replace: %d %v; want title, stock and active kept, version 2", s, out)
		}
		s, out = admin(t, e, map[string]any{"sku": "tea", "stock": 9, "active": true})
		p = productOf(t, out)
		if s != http.StatusOK || p["stock"] != 9.0 || p["active"] != true || p["price"] != 1200.0 {
			t.Fatalf("absolute stock: %d %v", s, out)
		}
	})
}

// TestInactiveListing: an inactive product is listed to the admin only, and
// cannot be ordered; paging skips it for everyone else.
func TestInactiveListing(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		for _, sku := range []string{"a", "b", "c"} {
			e.Product(t, sku, 1000, ptrInt(5))
		}
		if s, out := admin(t, e, map[string]any{"sku": "b", "active": false}); s != http.StatusOK || productOf(t, out)["active"] != false {
			t.Fatalf("deactivate: %d %v", s, out)
		}
		for _, who := range []string{"", "u1"} {
			got := listed(t, e, who, "")
			if _, ok := got["b"]; ok || len(got) != 2 {
				t.Fatalf("listed to %q: %v; want a and c only", who, got)
			}
		}
		all := listed(t, e, "admin", "")
		if len(all) != 3 || all["b"]["active"] != false || all["a"]["active"] != true {
			t.Fatalf("listed to the admin: %v", all)
		}
		// Paging one at a time: a, then c, then nothing.
		var seen []string
		after := ""
		for range 4 {
			s, out, _ := e.Do(t, "GET", "/products?limit=1&after="+after, "", nil)
			list, _ := out["products"].([]any)
			if s != http.StatusOK || len(list) > 1 {
				t.Fatalf("page after %q: %d %v", after, s, out)
			}
			for _, p := range list {
				seen = append(seen, p.(map[string]any)["sku"].(string))
			}
			next, _ := out["next"].(string)
			if next == "" {
				break
			}
			after = next
		}
		if strings.Join(seen, ",") != "a,c" {
			t.Fatalf("pages gave %v, want a,c", seen)
		}
		s, out, _ := e.Do(t, "POST", "/orders", "u1", map[string]any{"items": []any{map[string]any{"sku": "b", "quantity": 1}}})
		if s != http.StatusConflict || errCode(out) != "product_inactive" || e.Stock(t, "b") != 5 {
			t.Fatalf("ordering an inactive product: %d %v, stock %d", s, out, e.Stock(t, "b"))
		}
	})
}

func ptrInt(n int64) *int64 { return &n }
