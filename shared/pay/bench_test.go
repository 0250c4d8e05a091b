package pay_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
)

// BenchmarkParseNotify compares ParseNotify with wechatpay-go's
// notify.Handler.ParseNotifyRequest on the same signed TRANSACTION.SUCCESS
// notify (both verify the RSA signature and decrypt AES-256-GCM).
func BenchmarkParseNotify(b *testing.B) {
	e := newEnv(b)
	resource := map[string]any{"appid": appID, "mchid": mchID, "out_trade_no": "ORD202400008", "transaction_id": "4200000001",
		"trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": "2024-05-20T13:29:35+08:00", "payer": map[string]any{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		"amount": map[string]any{"total": 1999, "payer_total": 1999, "currency": "CNY", "payer_currency": "CNY"}}
	// Signed now: the SDK checks the timestamp against time.Now.
	h, body, err := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", resource, e.clock.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("minifn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.client.ParseNotify(h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wechatpay-go", func(b *testing.B) {
		pub, id := e.emu.PublicKey()
		handler, err := notify.NewRSANotifyHandler(apiV3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(id, *pub))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, "https://shop.example.com/pay/notify", bytes.NewReader(body))
			req.Header = h
			var tx payments.Transaction
			if _, err := handler.ParseNotifyRequest(ctx, req, &tx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
