package productfn_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
)

// scan is GET /products/barcode/{code} as user.
func scan(t *testing.T, e *orderfntest.Env, user, code string) (int, map[string]any) {
	t.Helper()
	s, out, _ := e.Do(t, "GET", "/products/barcode/"+code, user, nil)
	return s, out
}

// TestBarcodeHTTP: a product's barcode is found in its UPC-A and EAN-13
// forms, a bad check digit is 400 at both ends, a barcode belongs to one
// product, and changing or removing it moves the index with it.
func TestBarcodeHTTP(t *testing.T) {
	each(t, func(t *testing.T, e *orderfntest.Env) {
		const upc, ean = "036000291452", "0036000291452"
		s, out := admin(t, e, map[string]any{"sku": "soap", "title": "Soap", "price": 500, "stock": 3, "barcode": upc})
		if s != http.StatusCreated || productOf(t, out)["barcode"] != ean {
			t.Fatalf("create with a UPC-A: %d %v; want 201 with barcode %s", s, out, ean)
		}
		for _, code := range []string{upc, ean} {
			if s, out := scan(t, e, "u1", code); s != http.StatusOK || productOf(t, out)["sku"] != "soap" || productOf(t, out)["stock"] != 3.0 {
				t.Fatalf("scan %s: %d %v", code, s, out)
			}
		}
		for _, code := range []string{"036000291453", "0036000291450", "12345", "abcdefghijklm"} {
			if s, out := scan(t, e, "u1", code); s != http.StatusBadRequest || errCode(out) != "invalid_barcode" {
				t.Fatalf("scan of bad code %s: %d %v; want 400 invalid_barcode", code, s, out)
			}
		}
		if s, out := admin(t, e, map[string]any{"sku": "gum", "title": "Gum", "price": 100, "barcode": "4006381333932"}); s != http.StatusBadRequest || errCode(out) != "invalid_barcode" {
			t.Fatalf("create with a bad check digit: %d %v", s, out)
		}
		if s, out := scan(t, e, "u1", "4006381333931"); s != http.StatusNotFound || errCode(out) != "product_not_found" {
			t.Fatalf("scan of an unknown code: %d %v; want 404", s, out)
		}
		// The same code, in its other form, on another product: 409, and
		// the product is not created.
		if s, out := admin(t, e, map[string]any{"sku": "gum", "title": "Gum", "price": 100, "barcode": ean}); s != http.StatusConflict || errCode(out) != "barcode_taken" {
			t.Fatalf("a second product with the barcode: %d %v; want 409 barcode_taken", s, out)
		}
		if _, ok := listed(t, e, "admin", "")["gum"]; ok {
			t.Fatal("the refused product was created")
		}
		// Moving the barcode: the old one is free, the new one finds soap.
		if s, out := admin(t, e, map[string]any{"sku": "soap", "barcode": "4006381333931"}); s != http.StatusOK || productOf(t, out)["barcode"] != "4006381333931" {
			t.Fatalf("change the barcode: %d %v", s, out)
		}
		if s, _ := scan(t, e, "u1", upc); s != http.StatusNotFound {
			t.Fatalf("old barcode after the change: %d; want 404", s)
		}
		if s, out := scan(t, e, "u1", "4006381333931"); s != http.StatusOK || productOf(t, out)["sku"] != "soap" {
			t.Fatalf("new barcode: %d %v", s, out)
		}
		if s, out := admin(t, e, map[string]any{"sku": "gum", "title": "Gum", "price": 100, "barcode": upc}); s != http.StatusCreated {
			t.Fatalf("the freed barcode on another product: %d %v", s, out)
		}
		// An edit that leaves the barcode alone keeps it.
		if s, out := admin(t, e, map[string]any{"sku": "soap", "price": 600}); s != http.StatusOK || productOf(t, out)["barcode"] != "4006381333931" {
			t.Fatalf("price edit: %d %v", s, out)
		}
		// An inactive product: 404 to shoppers (as GET /products hides it), shown to the admin.
		if s, out := admin(t, e, map[string]any{"sku": "soap", "active": false}); s != http.StatusOK {
			t.Fatalf("deactivate: %d %v", s, out)
		}
		if s, out := scan(t, e, "u1", "4006381333931"); s != http.StatusNotFound || errCode(out) != "product_not_found" {
			t.Fatalf("inactive product scanned by a shopper: %d %v", s, out)
		}
		if s, out := scan(t, e, "admin", "4006381333931"); s != http.StatusOK || productOf(t, out)["active"] != false {
			t.Fatalf("inactive product scanned by the admin: %d %v", s, out)
		}
		// Removing it.
		if s, out := admin(t, e, map[string]any{"sku": "soap", "barcode": ""}); s != http.StatusOK || productOf(t, out)["barcode"] != nil {
			t.Fatalf("remove the barcode: %d %v", s, out)
		}
		if s, _ := scan(t, e, "admin", "4006381333931"); s != http.StatusNotFound {
			t.Fatalf("removed barcode: %d; want 404", s)
		}
	})
}

// TestBarcodeClaimRace: products racing for one barcode (new ones, and an
// existing one moving to it): exactly one gets it, and the index names it.
func TestBarcodeClaimRace(t *testing.T) {
	const n, code = 8, "6901234567892"
	each(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "old", 100, nil)
		var wg sync.WaitGroup
		status := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"sku": fmt.Sprintf("p%d", i), "title": "P", "price": 100, "barcode": code}
				if i == 0 {
					body = map[string]any{"sku": "old", "barcode": code}
				}
				status[i], _ = admin(t, e, body)
			}()
		}
		wg.Wait()
		winner := ""
		for i, s := range status {
			switch s {
			case http.StatusCreated, http.StatusOK:
				if winner != "" {
					t.Fatalf("two products got barcode %s: %v", code, status)
				}
				winner = fmt.Sprintf("p%d", i)
				if i == 0 {
					winner = "old"
				}
			case http.StatusConflict:
			default:
				t.Fatalf("claim %d: %d", i, s)
			}
		}
		s, out := scan(t, e, "admin", code)
		if winner == "" || s != http.StatusOK || productOf(t, out)["sku"] != winner {
			t.Fatalf("statuses %v; scan %d %v; want the one winner %q", status, s, out, winner)
		}
		holders := 0
		for _, p := range listed(t, e, "admin", "") {
			if p["barcode"] == code {
				holders++
			}
		}
		if holders != 1 {
			t.Fatalf("%d products carry %s", holders, code)
		}
	})
}
