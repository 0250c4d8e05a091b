package orderfn_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order/ordertest"
)

// TestNotifyFieldChecksHTTP: notifies signed with the emulator's platform
// key and sealed with the merchant's APIv3 key, posted to /pay/notify, that
// disagree with the order on its appid, amount, currency or transaction_id
// get 400 FAIL naming the field and leave the order pending; the control
// notify is then applied.
func TestNotifyFieldChecksHTTP(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		e.Product(t, "tea", 1000, ptrInt(5))
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 2}}}, "")
		id := o["id"].(string)
		now := e.Clock.Now()
		amount := func(tx map[string]any) map[string]any { return tx["amount"].(map[string]any) }
		for _, tc := range []struct {
			name, inMessage string
			edit            func(tx map[string]any)
		}{
			{"another appid", "appid", func(tx map[string]any) { tx["appid"] = "wx00000000000000ff" }},
			{"one fen less", "amount", func(tx map[string]any) { amount(tx)["total"] = 1999; amount(tx)["payer_total"] = 1999 }},
			{"one fen more", "amount", func(tx map[string]any) { amount(tx)["total"] = 2001; amount(tx)["payer_total"] = 2001 }},
			{"USD", "currency", func(tx map[string]any) { amount(tx)["currency"] = "USD" }},
			{"no transaction_id", "transaction_id", func(tx map[string]any) { delete(tx, "transaction_id") }},
			{"empty transaction_id", "transaction_id", func(tx map[string]any) { tx["transaction_id"] = "" }},
		} {
			tx := ordTransaction(ordertest.MchID, id, 2000, now)
			tc.edit(tx)
			s, out := ordPostNotify(t, e, ordertest.MchID, tx, now)
			msg, _ := out["message"].(string)
			if s != http.StatusBadRequest || out["code"] != "FAIL" || !strings.Contains(msg, tc.inMessage) {
				t.Errorf("%s: %d %v; want 400 FAIL naming %s", tc.name, s, out, tc.inMessage)
			}
			if got := ordGet(t, e, "u1", id); got["status"] != "pending" || got["transaction_id"] != nil || got["paid_at"] != nil {
				t.Fatalf("%s: order %v after a refused notify", tc.name, got)
			}
		}
		if s, out := ordPostNotify(t, e, ordertest.MchID, ordTransaction(ordertest.MchID, id, 2000, now), now); s != http.StatusNoContent {
			t.Fatalf("good notify: %d %v", s, out)
		}
		if got := ordGet(t, e, "u1", id); got["status"] != "paid" || got["transaction_id"] != "4200000000202401010000000001" {
			t.Fatalf("order %v after the good notify", got)
		}
	})
}

// TestNotifyTopUpWithoutWallet: a pay-notify built for orders only
// (Notified.Wallet nil) answers a top-up's notify ("wt…") 503 FAIL, so that
// WeChat Pay retries it on its schedule (a day) until a pay-notify with the
// wallet takes it, and never hands it to the orders (whose 404 would read
// as a stranger's notify). An order's notify is still applied.
func TestNotifyTopUpWithoutWallet(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		now := e.Clock.Now()
		s, out := ordPostNotify(t, e, ordertest.MchID, ordTransaction(ordertest.MchID, "wt20260101000000000000000001", 1000, now), now)
		if s != http.StatusServiceUnavailable || out["code"] != "FAIL" || !strings.Contains(out["message"].(string), "top-up") {
			t.Fatalf("top-up notify without the wallet: %d %v; want 503 FAIL", s, out)
		}
		e.Product(t, "tea", 1000, ptrInt(5))
		o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "")
		if s, out := ordPostNotify(t, e, ordertest.MchID, ordTransaction(ordertest.MchID, o["id"].(string), 1000, now), now); s != http.StatusNoContent {
			t.Fatalf("order notify: %d %v", s, out)
		}
	})
}

// TestNotifyGiftCardWithoutGiftCards: a pay-notify built without gift cards
// (Notified.GiftCards nil) answers a card's notify ("gc…") 503 FAIL, so
// that WeChat Pay retries it, and never hands it to the orders.
func TestNotifyGiftCardWithoutGiftCards(t *testing.T) {
	ordEach(t, func(t *testing.T, e *orderfntest.Env) {
		now := e.Clock.Now()
		s, out := ordPostNotify(t, e, ordertest.MchID, ordTransaction(ordertest.MchID, "gc0000000000000000000000000001", 1000, now), now)
		if s != http.StatusServiceUnavailable || out["code"] != "FAIL" || !strings.Contains(out["message"].(string), "gift card") {
			t.Fatalf("gift card notify without gift cards: %d %v; want 503 FAIL", s, out)
		}
	})
}
