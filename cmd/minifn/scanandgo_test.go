package main

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestScanAndGoDev walks scan-and-go through `minifn dev`, its WeChat and
// Pay emulators: a product found by its UPC-A barcode in EAN-13 form, an
// order made in a store, paid, its exit pass PNG, the door's verify by the
// store's staff (once), and the self-pickup shipping upload.
func TestScanAndGoDev(t *testing.T) {
	s := newShop(t)
	if a := s.call(t, "POST", "/products", s.admin, `{"sku":"soap","title":"香皂","price":500,"stock":3,"barcode":"036000291452"}`); a.status != 201 {
		t.Fatalf("product: %d %s", a.status, a.raw)
	}
	if a := s.call(t, "GET", "/products/barcode/0036000291452", s.alice, ""); a.status != 200 || a.body["product"].(map[string]any)["sku"] != "soap" {
		t.Fatalf("scan: %d %s", a.status, a.raw)
	}
	wantError(t, "a misread barcode", s.call(t, "GET", "/products/barcode/0036000291453", s.alice, ""), 400, "invalid_barcode")

	// The store (function stores), and bob as its staff.
	a := s.call(t, "POST", "/stores", s.admin, `{"name":"静安店","address":"上海市静安区南京西路 1 号","lat":31.2304,"lng":121.4737}`)
	if a.status != 201 {
		t.Fatalf("store: %d %s", a.status, a.raw)
	}
	storeID := a.body["store"].(map[string]any)["id"].(string)
	_, bobID := mintCode(t, s.base, "bob")
	if a := s.call(t, "PUT", "/staff/"+bobID, s.admin, `{"store_id":"`+storeID+`"}`); a.status != 200 {
		t.Fatalf("staff: %d %s", a.status, a.raw)
	}

	a = s.call(t, "POST", "/orders", s.alice, `{"store_id":"`+storeID+`","fulfillment":"scan_and_go","items":[{"sku":"soap","quantity":2}]}`)
	if a.status != 201 {
		t.Fatalf("order: %d %s", a.status, a.raw)
	}
	o := a.body["order"].(map[string]any)
	id := o["id"].(string)
	if sh, _ := o["shipping"].(map[string]any); sh == nil || sh["type"] != "pickup" {
		t.Fatalf("a store order's shipping: %v", o["shipping"])
	}
	pass := func() (int, string) {
		req, _ := http.NewRequest("GET", s.base+"/orders/"+id+"/exit-pass", nil)
		req.Header.Set("Authorization", "Bearer "+s.alice)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode == 200 {
			if _, err := png.Decode(bytes.NewReader(body)); err != nil || res.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("exit pass is not a PNG: %v", err)
			}
		}
		return res.StatusCode, res.Header.Get("X-Minifn-Exit-Pass")
	}
	if status, _ := pass(); status != 409 {
		t.Fatalf("pass of an unpaid order: %d", status)
	}
	if a := post(t, s.base+"/_emulator/pay/"+o["out_trade_no"].(string), ""); a.status != 200 {
		t.Fatalf("pay: %d %s", a.status, a.raw)
	}
	var paid map[string]any
	for range 250 {
		if paid = s.call(t, "GET", "/orders/"+id, s.alice, "").body["order"].(map[string]any); paid["status"] == "paid" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Uploaded as pickup right after the paid Write, or pending for the
	// timer while WeChat does not know the payment yet (10060001).
	if sh, _ := paid["shipping"].(map[string]any); paid["status"] != "paid" || sh["type"] != "pickup" || sh["status"] != "uploaded" && sh["status"] != "pending" {
		t.Fatalf("paid store order: %v", paid)
	}
	status, code := pass()
	if status != 200 || code == "" {
		t.Fatalf("exit pass: %d %q", status, code)
	}
	wantError(t, "verify by a shopper", s.call(t, "POST", "/exit-passes/verify", s.alice, `{"code":"`+code+`"}`), 403, "not_staff")
	v := s.call(t, "POST", "/exit-passes/verify", s.bob, `{"code":"`+code+`"}`)
	if v.status != 200 || v.body["store_id"] != storeID || v.body["exited_by"] != bobID || len(v.body["items"].([]any)) != 1 {
		t.Fatalf("verify by the store's staff: %d %s", v.status, v.raw)
	}
	wantError(t, "a second verify", s.call(t, "POST", "/exit-passes/verify", s.bob, `{"code":"`+code+`"}`), 409, "already_exited")
	wantError(t, "a second verify by the admin", s.call(t, "POST", "/exit-passes/verify", s.admin, `{"code":"`+code+`"}`), 409, "already_exited")
	// Alice sees when she left; who let her out (bob's openid) only the admin.
	if o := s.call(t, "GET", "/orders/"+id, s.alice, "").body["order"].(map[string]any); o["exited_by"] != nil || o["exited_at"] == nil {
		t.Fatalf("the order after the door, as its owner: %v", o)
	}
	if o := s.call(t, "GET", "/orders/"+id, s.admin, "").body["order"].(map[string]any); o["exited_by"] != bobID || o["exited_at"] == nil {
		t.Fatalf("the order after the door, as the admin: %v", o)
	}
}
