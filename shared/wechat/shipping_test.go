package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/wechat/emulator"
)

// rawPost posts body to an authenticated emulator path and returns the errcode.
func rawPost(t *testing.T, ev *env, c *Client, path, body string) int {
	t.Helper()
	ref, err := c.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ev.srv.URL+path+"?access_token="+ref.token, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Errcode int `json:"errcode"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return out.Errcode
}

func TestUploadShippingErrors(t *testing.T) {
	ev := newEnv(t)
	c := ev.client(0)
	const up = "/wxa/sec/order/upload_shipping_info"
	ok := func(mut string) string {
		base := `{"order_key":{"order_number_type":2,"transaction_id":"TX"},"logistics_type":1,"delivery_mode":1,` +
			`"shipping_list":[{"tracking_no":"SF1","express_company":"SF","item_desc":"茶*1","contact":{"receiver_contact":"138****5678"}}],` +
			`"upload_time":"2026-03-01T18:00:00.000+08:00","payer":{"openid":"o1"}}`
		return strings.Replace(base, "TX", mut, 1)
	}
	for _, c2 := range []struct {
		name, body string
		want       int
	}{
		{"shipping_list an object", strings.Replace(ok("t1"), `[{"tracking_no":"SF1","express_company":"SF","item_desc":"茶*1","contact":{"receiver_contact":"138****5678"}}]`, `{"tracking_no":"SF1","express_company":"SF","item_desc":"茶*1"}`, 1), 47001},
		{"delivery_mode a string", strings.Replace(ok("t1"), `"delivery_mode":1`, `"delivery_mode":"UNIFIED_DELIVERY"`, 1), 47001},
		{"item_desc empty", strings.Replace(ok("t1"), `"item_desc":"茶*1"`, `"item_desc":""`, 1), 10060008},
		{"tracking_no missing", strings.Replace(ok("t1"), `"tracking_no":"SF1",`, ``, 1), 268485226},
		{"express_company missing", strings.Replace(ok("t1"), `"express_company":"SF",`, ``, 1), 268485227},
		{"SF without a masked contact", strings.Replace(ok("t1"), `138****5678`, `13800005678`, 1), 47001},
		{"two entries in unified mode", strings.Replace(ok("t1"), `}],`, `},{"item_desc":"x"}],`, 1), 268485228},
		{"upload_time not RFC 3339", strings.Replace(ok("t1"), `2026-03-01T18:00:00.000+08:00`, `2026-03-01 18:00:00`, 1), 268485216},
		{"first upload", ok("t1"), 0},
		{"the same again", ok("t1"), 10060023},
		{"an older upload_time", strings.Replace(strings.Replace(ok("t1"), "SF1", "SF2", 1), "18:00:00", "17:00:00", 1), 268485216},
		{"a re-shipment", strings.Replace(strings.Replace(ok("t1"), "SF1", "SF2", 1), "18:00:00", "18:00:01", 1), 0},
		{"a second re-shipment", strings.Replace(strings.Replace(ok("t1"), "SF1", "SF3", 1), "18:00:00", "18:00:02", 1), 10060003},
	} {
		if got := rawPost(t, ev, c, up, c2.body); got != c2.want {
			t.Errorf("%s: errcode %d, want %d", c2.name, got, c2.want)
		}
	}
	ev.emu.SetShippingService(testApp, false)
	if got := rawPost(t, ev, c, up, ok("t9")); got != 48001 {
		t.Errorf("service off: %d, want 48001", got)
	}
	err := c.UploadShippingInfo(context.Background(), Shipping{TransactionID: "t9", PayerOpenID: "o1", LogisticsType: LogisticsVirtual, ItemDesc: "x"})
	if !errors.Is(err, ErrShippingOff) {
		t.Errorf("client, service off: %v", err)
	}
}

// TestShippingAgainstPay links the emulator's shipping APIs to payments:
// unknown or too young → 10060001, refunded → 10060004, another payer →
// 10060031; and maps them to the client's sentinels.
func TestShippingAgainstPay(t *testing.T) {
	ev := newEnv(t)
	pays := map[string]emulator.Payment{
		"young":    {AppID: testApp, TransactionID: "young", OpenID: "o1", State: "SUCCESS", PaidAt: ev.clk.Now().Add(-10 * time.Second), Total: 100},
		"refunded": {AppID: testApp, TransactionID: "refunded", OpenID: "o1", State: "REFUND", PaidAt: ev.clk.Now().Add(-time.Hour), Total: 100, Refunded: 100},
		"old":      {AppID: testApp, TransactionID: "old", OpenID: "o1", State: "SUCCESS", PaidAt: ev.clk.Now().Add(-time.Hour), Total: 100},
	}
	var pushed []map[string]any
	ev.emu = emulator.New(emulator.Options{Now: ev.clk.Now, Apps: map[string]emulator.App{testApp: {Secret: testSecret}},
		ShippingAfter: time.Minute, OnPush: func(m map[string]any) { pushed = append(pushed, m) },
		Payments: func(tx, _, _ string) (emulator.Payment, bool) { p, ok := pays[tx]; return p, ok }})
	ev.srv.Config.Handler = ev.emu.Handler()
	c := ev.client(0)
	ctx := context.Background()
	up := func(tx, payer string) error {
		return c.UploadShippingInfo(ctx, Shipping{TransactionID: tx, PayerOpenID: payer, LogisticsType: LogisticsVirtual, ItemDesc: "茶*1"})
	}
	for _, k := range []struct {
		tx, payer string
		want      error
	}{
		{"nope", "o1", ErrShippingNotYet}, {"young", "o1", ErrShippingNotYet},
		{"refunded", "o1", ErrShippingFinal}, {"old", "o2", ErrShippingFinal}, {"old", "o1", nil},
		{"old", "o1", ErrShippingDone},
	} {
		if err := up(k.tx, k.payer); !errors.Is(err, k.want) && !(k.want == nil && err == nil) {
			t.Errorf("upload %s by %s: %v, want %v", k.tx, k.payer, err, k.want)
		}
	}
	var ae *APIError
	if err := up("young", "o1"); !errors.As(err, &ae) || ae.Errcode != 10060001 {
		t.Errorf("the cause: %v", err)
	}
	if len(pushed) != 1 || pushed[0]["Event"] != "trade_manage_order_settlement" || pushed[0]["transaction_id"] != "old" ||
		pushed[0]["MsgType"] != "event" || pushed[0]["confirm_receive_method"] != nil {
		t.Fatalf("pushes %v", pushed)
	}
	// notify_confirm_receive applies to express only.
	if err := c.NotifyConfirmReceive(ctx, "old", ev.clk.Now()); !errors.Is(err, ErrConfirmRefused) {
		t.Errorf("confirm on a virtual payment: %v", err)
	}
	o, err := c.GetShippingOrder(ctx, "old")
	if err != nil || o.OrderState != 2 || o.Shipping.LogisticsType != 3 || o.OpenID != "o1" {
		t.Errorf("get_order: %+v %v", o, err)
	}
	if err := ev.emu.SettleShipping("old", false); err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 2 || pushed[1]["confirm_receive_method"] != 1 || pushed[1]["settlement_time"] == nil {
		t.Fatalf("settlement push %v", pushed)
	}
	if err := up("old", "o1"); !errors.Is(err, ErrShippingDone) {
		t.Errorf("upload after settlement: %v", err)
	}
	ev.emu.RemindShipping(testApp, pays["young"])
	if len(pushed) != 3 || pushed[2]["Event"] != "trade_manage_remind_shipping" || pushed[2]["merchant_trade_no"] == nil {
		t.Fatalf("remind push %v", pushed)
	}
}

func TestIsTradeManagedCached(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	const path = "/wxa/sec/order/is_trade_managed"
	ev.emu.SetTradeManaged(testApp, false)
	for i := 0; i < 3; i++ {
		// Three instances share the store: one call in all.
		if m, err := ev.client(0).IsTradeManaged(ctx); err != nil || m {
			t.Fatalf("managed %v %v", m, err)
		}
	}
	if n := ev.emu.Calls(path); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	ev.emu.SetTradeManaged(testApp, true)
	ev.clk.Advance(ManagedTTL + time.Second)
	if m, err := ev.client(0).IsTradeManaged(ctx); err != nil || !m || ev.emu.Calls(path) != 2 {
		t.Fatalf("after the TTL: %v %v, %d calls", m, err, ev.emu.Calls(path))
	}
}
