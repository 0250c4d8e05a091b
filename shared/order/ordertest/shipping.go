package ordertest

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/order"
	payemu "github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/wechat"
	wxemu "github.com/minifn/minifn/shared/wechat/emulator"
)

// Secret is the app secret of the WeChat emulator a ShipEnv runs.
const Secret = "ordertest-wechat-secret"

// ShipEnv is the shipping side of an Env: the WeChat emulator, whose
// shipping APIs know the Env's payments through the Pay emulator, and the
// real WeChat client, which the order service uploads with.
type ShipEnv struct {
	WeChat *wxemu.Emulator
	Client *wechat.Client
	URL    string // the WeChat emulator's base URL

	mu     sync.Mutex
	pushes []map[string]any
}

// WithShipping connects shipping uploads to e.Orders in mode (""
// virtual), with a WeChat emulator that answers 10060001 to uploads within
// after of a payment. The pushes it causes are captured (Pushes).
func (e *Env) WithShipping(t testing.TB, mode string, after time.Duration) *ShipEnv {
	t.Helper()
	s := &ShipEnv{}
	s.WeChat = wxemu.New(wxemu.Options{
		Apps: map[string]wxemu.App{AppID: {Secret: Secret}}, Now: e.Clock.Now, ShippingAfter: after,
		Payments: func(tx, mchid, no string) (wxemu.Payment, bool) {
			p, ok := e.Emulator.Payment(tx, mchid, no)
			return wxPayment(p), ok
		},
		OnPush: func(msg map[string]any) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.pushes = append(s.pushes, msg)
		},
	})
	srv := httptest.NewServer(s.WeChat.Handler())
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Client = wechat.New(wechat.Config{AppID: AppID, Secret: Secret, BaseURL: srv.URL, Store: e.Store, Now: e.Clock.Now})
	e.SetOrders(func(o *order.Options) { o.Shipper, o.ShippingMode = s.Client, mode })
	return s
}

func wxPayment(p payemu.Payment) wxemu.Payment {
	return wxemu.Payment{AppID: p.AppID, MchID: p.MchID, OutTradeNo: p.OutTradeNo, TransactionID: p.TransactionID,
		OpenID: p.OpenID, State: p.State, PaidAt: p.PaidAt, Total: p.Total, Refunded: p.Refunded}
}

// Pushes returns the pushes the WeChat emulator made so far.
func (s *ShipEnv) Pushes() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.pushes...)
}
