package order_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

var benchBackend = storetest.Backend{Name: "bolt", Open: storetest.OpenBolt}

// BenchmarkOrderCreate places orders on a bolt file, each prepaid at the
// emulator over loopback (two RSA signatures and one verification per order).
func BenchmarkOrderCreate(b *testing.B) {
	e := ordertest.New(b, benchBackend, ordertest.Options{})
	e.Product(b, "tea", 1000, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.Orders.Create(ctx, fmt.Sprintf("u%d", i%100), line("tea", 1), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// benchNotify is one signed TRANSACTION.SUCCESS notify for a pending order.
type benchNotify struct {
	header http.Header
	body   []byte
}

func benchNotifies(b *testing.B, e *ordertest.Env, n int) []benchNotify {
	b.Helper()
	ctx := context.Background()
	out := make([]benchNotify, n)
	for i := range out {
		got, err := e.Orders.Create(ctx, fmt.Sprintf("u%d", i%100), line("tea", 1), "")
		if err != nil {
			b.Fatal(err)
		}
		now := e.Clock.Now()
		h, body, err := e.Emulator.SignedNotify(ordertest.MchID, "TRANSACTION.SUCCESS",
			ordTx(got.Order.OutTradeNo, got.Order.Total, now), now)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = benchNotify{h, body}
	}
	return out
}

// BenchmarkNotify is the whole handling of a payment notify: read the raw
// body, verify the signature, decrypt, check against the order, and write
// the transition with the notify record; answered 204.
func BenchmarkNotify(b *testing.B) {
	e := ordertest.New(b, benchBackend, ordertest.Options{})
	e.Product(b, "tea", 1000, nil)
	notifies := benchNotifies(b, e, b.N)
	h := http.HandlerFunc(e.Receive) // what orderfn.PayNotifyHandler does, without its failure body
	b.ResetTimer()
	for _, n := range notifies {
		req := httptest.NewRequest("POST", "/pay/notify", bytes.NewReader(n.body))
		req.Header = n.header.Clone()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			b.Fatalf("notify: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkNotifySDKParse is wechatpay-go's own notify parser (verify and
// decrypt only, no order, no store) on the same kind of payload: the
// baseline BenchmarkNotify is compared with.
func BenchmarkNotifySDKParse(b *testing.B) {
	e := ordertest.New(b, benchBackend, ordertest.Options{})
	e.Product(b, "tea", 1000, nil)
	n := benchNotifies(b, e, 1)[0]
	pub, id := e.Emulator.PublicKey()
	handler, err := notify.NewRSANotifyHandler(ordertest.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(id, *pub))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest("POST", "/pay/notify", bytes.NewReader(n.body))
		req.Header = n.header.Clone()
		var tx payments.Transaction
		if _, err := handler.ParseNotifyRequest(ctx, req, &tx); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUsers is how many buyers the order benchmarks spread over.
const benchUsers = 100

// BenchmarkOrderWeChatPay is the WeChat-Pay-only order: Create, which
// prepays at the emulator over loopback (the baseline of
// BenchmarkOrderBalance, in the same run).
func BenchmarkOrderWeChatPay(b *testing.B) {
	e := ordertest.New(b, benchBackend, ordertest.Options{})
	e.Product(b, "tea", 1000, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		got, err := e.Orders.Create(ctx, fmt.Sprintf("u%d", i%benchUsers), line("tea", 1), "")
		if err != nil || got.Payment == nil {
			b.Fatalf("%+v %v", got, err)
		}
	}
}

// BenchmarkOrderBalance is an order paid in full by the wallet
// ("use_balance": true covering the total): Create writes the order as paid
// with the wallet debit in the same transaction, and no WeChat Pay call.
func BenchmarkOrderBalance(b *testing.B) {
	e := ordertest.New(b, benchBackend, ordertest.Options{})
	w := wallet.New(e.Store, wallet.Options{Now: e.Clock.Now})
	e.SetOrders(func(o *order.Options) { o.Wallet = w })
	e.Product(b, "tea", 1000, nil)
	ctx := context.Background()
	for u := range benchUsers {
		if _, err := w.Adjust(ctx, fmt.Sprintf("u%d", u), int64(b.N/benchUsers+1)*1000, "bench credit", ""); err != nil {
			b.Fatal(err)
		}
	}
	req := line("tea", 1)
	req.UseBalance = true
	b.ResetTimer()
	for i := range b.N {
		got, err := e.Orders.Create(ctx, fmt.Sprintf("u%d", i%benchUsers), req, "")
		if err != nil || got.Order.Status != order.Paid || got.Payment != nil {
			b.Fatalf("%+v %v", got, err)
		}
	}
}
