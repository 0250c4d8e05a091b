package orderfn_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

// The HTTP side of shared/order's BenchmarkOrderWeChatPay and
// BenchmarkOrderBalance: POST /orders through the real handler over
// loopback (JSON in and out, test headers in place of the session), on a
// bolt file, 100 buyers.

const benchUsers = 100

func benchEnv(b *testing.B) *orderfntest.Env {
	e := orderfntest.New(b, storetest.Backend{Name: "bolt", Open: storetest.OpenBolt}, ordertest.Options{})
	e.Product(b, "tea", 1000, nil)
	return e
}

func benchCreate(b *testing.B, e *orderfntest.Env, useBalance bool, wantStatus string) {
	body := map[string]any{"items": []map[string]any{{"sku": "tea", "quantity": 1}}}
	if useBalance {
		body["use_balance"] = true
	}
	b.ResetTimer()
	for i := range b.N {
		status, out, _ := e.Do(b, "POST", "/orders", fmt.Sprintf("u%d", i%benchUsers), body)
		o, _ := out["order"].(map[string]any)
		if status != 201 || o == nil || o["status"] != wantStatus {
			b.Fatalf("POST /orders: %d %v", status, out)
		}
	}
}

// BenchmarkHTTPOrderWeChatPay: a WeChat-Pay-only order, prepaid at the
// emulator over loopback.
func BenchmarkHTTPOrderWeChatPay(b *testing.B) {
	benchCreate(b, benchEnv(b), false, "pending")
}

// BenchmarkHTTPOrderBalance: an order with "use_balance": true that the
// balance covers: paid at once, no WeChat Pay call.
func BenchmarkHTTPOrderBalance(b *testing.B) {
	e := benchEnv(b)
	w := wallet.New(e.Store, wallet.Options{Now: e.Clock.Now})
	e.SetOrders(func(o *order.Options) { o.Wallet = w })
	for u := range benchUsers {
		if _, err := w.Adjust(context.Background(), fmt.Sprintf("u%d", u), int64(b.N/benchUsers+1)*1000, "bench credit", ""); err != nil {
			b.Fatal(err)
		}
	}
	benchCreate(b, e, true, "paid")
}
