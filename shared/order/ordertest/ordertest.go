// Package ordertest builds a complete order environment for domain tests: a
// real store backend, the WeChat Pay emulator and minifn's pay client talking
// over loopback HTTP, the product, coupon and order services, and a server
// that receives the emulator's notifies and hands them to the order service.
//
// It stands on the domain only: tests of the HTTP routes wrap an Env in
// shared/functions/orderfn/orderfntest, which serves the real handlers
// (the pay-notify route among them) on the same Server.
package ordertest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// Merchant identity of every Env.
const (
	AppID      = "wx0123456789abcdef"
	MchID      = "1900000001"
	OtherMchID = "1900000002" // known to the emulator, with the same APIv3 key
	CertSerial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	APIv3Key   = "0123456789abcdefghijklmnopqrstuv"
)

// RSA keys are slow to make, above all under -race; every Env of a test
// binary shares the same two (they are never modified).
var keys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	m, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return m, p
})

// Env is one complete order environment.
type Env struct {
	Clock     *storetest.Clock
	Store     store.Store
	Emulator  *emulator.Emulator
	Client    *pay.Client // the real client, pointed at the emulator
	Pay       *Pay        // what Orders uses: Client, with failure injection
	Products  *product.Service
	Coupons   *coupon.Service
	Orders    *order.Service
	orderOpts order.Options // what Orders was built with (SetOrders)
	// Server is where the emulator sends notifies (Options.NotifyPath). It
	// serves Handler: by default the notify receiver of domain tests
	// (Receive); orderfntest sets the real routes instead, before any
	// request.
	Server  *httptest.Server
	Handler http.Handler
	PayURL  string // the emulator's base URL
}

// Options tune New.
type Options struct {
	TTL time.Duration // default order.DefaultTTL
	// Start is where the clock starts; default now, to the second. The SDK
	// signs requests with the real time and the emulator allows 5 minutes of
	// skew, so tests may move the clock by a few minutes at most.
	Start      time.Time
	NotifyPath string // where the emulator sends notifies; default /pay/notify
	// PayMode is how WeChat Pay signs and the client verifies: "" (the
	// public key only), "certificate" (platform certificates cached in the
	// Env's store, no public key) or "both" (the public key, and
	// certificates for other serials; the emulator signs with certificates).
	PayMode string
}

// New builds an Env on backend b; everything is closed by t.Cleanup.
func New(t testing.TB, b storetest.Backend, opts Options) *Env {
	t.Helper()
	merchantKey, platformKey := keys()
	if opts.Start.IsZero() {
		opts.Start = time.Now().Truncate(time.Second)
	}
	e := &Env{Clock: storetest.NewClock(opts.Start)}
	if opts.NotifyPath == "" {
		opts.NotifyPath = "/pay/notify"
	}
	e.Store = b.Open(t, e.Clock.Now)

	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.Handler.ServeHTTP(w, r) }))
	t.Cleanup(e.Server.Close)

	emu, err := emulator.New(emulator.Options{
		Merchants: map[string]emulator.Merchant{
			MchID: {PublicKey: &merchantKey.PublicKey, CertSerial: CertSerial, APIv3Key: APIv3Key, AppIDs: []string{AppID},
				Mode: map[string]string{"certificate": emulator.ModeCertificate, "both": emulator.ModeCertificate}[opts.PayMode]},
			OtherMchID: {PublicKey: &merchantKey.PublicKey, CertSerial: CertSerial, APIv3Key: APIv3Key},
		},
		Now: e.Clock.Now, Key: platformKey, PublicKeyID: "PUB_KEY_ID_0114232134912410000000000000",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Emulator = emu
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { emu.Close(); emuSrv.Close() })
	e.PayURL = emuSrv.URL

	pub, pubID := emu.PublicKey()
	cfg := pay.Config{
		AppID: AppID, MchID: MchID, CertSerial: CertSerial, PrivateKey: merchantKey, APIv3Key: APIv3Key,
		PublicKeyID: pubID, PublicKey: pub, BaseURL: emuSrv.URL, NotifyURL: e.Server.URL + opts.NotifyPath,
		Now: e.Clock.Now,
	}
	switch opts.PayMode {
	case "certificate":
		cfg.PublicKeyID, cfg.PublicKey, cfg.Store = "", nil, e.Store
	case "both":
		cfg.Store = e.Store
	}
	e.Client, err = pay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Pay = &Pay{Client: e.Client}
	e.Products = product.New(e.Store, product.Options{Now: e.Clock.Now})
	e.Coupons = coupon.New(e.Store, coupon.Options{Now: e.Clock.Now, CacheTTL: -1})
	e.orderOpts = order.Options{Products: e.Products, Pay: e.Pay, Coupons: e.Coupons, Now: e.Clock.Now, TTL: opts.TTL}
	e.Orders = order.New(e.Store, e.orderOpts)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay/notify", e.Receive)
	e.Handler = mux
	return e
}

// SetOrders changes the options of e.Orders (the paid hook, the shipper…),
// in place: the routes keep serving the same *order.Service.
func (e *Env) SetOrders(f func(o *order.Options)) {
	f(&e.orderOpts)
	*e.Orders = *order.New(e.Store, e.orderOpts)
}

// Receive is the pay-notify receiver of domain tests: it verifies and
// decrypts the notify with the real client and applies it with the order
// service, answering 204 once applied and 500 otherwise, so that the
// emulator retries as WeChat Pay would. (The real route, with WeChat Pay's
// failure body and statuses, is orderfn.PayNotifyHandler, tested in
// shared/functions/orderfn.)
func (e *Env) Receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	n, err := e.Client.ParseNotify(r.Header, body)
	switch {
	case err != nil:
	case n.Transaction != nil:
		_, err = e.Orders.HandlePayment(r.Context(), n.ID, *n.Transaction)
	case n.Refund != nil:
		_, err = e.Orders.HandleRefund(r.Context(), n.ID, *n.Refund)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Product creates a product (stock nil: unlimited).
func (e *Env) Product(t testing.TB, sku string, price int64, stock *int64) product.Product {
	t.Helper()
	res, err := e.Products.Put(context.Background(), product.Product{SKU: sku, Title: "商品 " + sku, Price: price, Stock: stock, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Product
}

// Stock returns a product's remaining stock.
func (e *Env) Stock(t testing.TB, sku string) int64 {
	t.Helper()
	p, err := e.Products.Get(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	if p.Stock == nil {
		t.Fatalf("product %s has no stock limit", sku)
	}
	return *p.Stock
}

// Coupon creates a campaign with this discount and min_spend and claims one
// coupon of it for openid.
func (e *Env) Coupon(t testing.TB, openid string, amountOff, minSpend int64) coupon.Coupon {
	t.Helper()
	ctx := context.Background()
	var in coupon.CampaignInput
	raw := `{"title":"满减","discount":{"amount_off":` + itoa(amountOff) + `},"min_spend":` + itoa(minSpend) +
		`,"stock":1000,"per_user_limit":10,"valid_days":30}`
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatal(err)
	}
	camp, _, err := e.Coupons.CreateCampaign(ctx, in, "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := e.Coupons.Claim(ctx, openid, camp.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// WaitNotify waits until the emulator has finished delivering every notify
// for outTradeNo of eventType (delivered, or given up) and returns them.
func (e *Env) WaitNotify(t testing.TB, outTradeNo, eventType string) []emulator.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var found []emulator.Delivery
		done := true
		for _, d := range e.Emulator.Notifies() {
			if d.OutTradeNo == outTradeNo && d.EventType == eventType {
				found = append(found, d)
				done = done && (d.Delivered || d.Done)
			}
		}
		if len(found) > 0 && done {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished %s notify for %s after 30 s: %+v", eventType, outTradeNo, found)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Pay wraps the real client; a non-nil …Fn replaces that call, to inject a
// failure. Set the fields before the calls they affect.
type Pay struct {
	*pay.Client
	PrepayFn func(ctx context.Context, r pay.PrepayRequest) (string, error)
	CloseFn  func(ctx context.Context, outTradeNo string) error
	RefundFn func(ctx context.Context, r pay.RefundRequest) (pay.Refund, error)
	// QueryRefundFn replaces QueryRefund.
	QueryRefundFn func(ctx context.Context, outRefundNo string) (pay.Refund, error)
}

var _ order.Pay = (*Pay)(nil)

// Prepay calls PrepayFn or the client.
func (p *Pay) Prepay(ctx context.Context, r pay.PrepayRequest) (string, error) {
	if p.PrepayFn != nil {
		return p.PrepayFn(ctx, r)
	}
	return p.Client.Prepay(ctx, r)
}

// Close calls CloseFn or the client.
func (p *Pay) Close(ctx context.Context, outTradeNo string) error {
	if p.CloseFn != nil {
		return p.CloseFn(ctx, outTradeNo)
	}
	return p.Client.Close(ctx, outTradeNo)
}

// Refund calls RefundFn or the client.
func (p *Pay) Refund(ctx context.Context, r pay.RefundRequest) (pay.Refund, error) {
	if p.RefundFn != nil {
		return p.RefundFn(ctx, r)
	}
	return p.Client.Refund(ctx, r)
}

// QueryRefund calls QueryRefundFn or the client.
func (p *Pay) QueryRefund(ctx context.Context, outRefundNo string) (pay.Refund, error) {
	if p.QueryRefundFn != nil {
		return p.QueryRefundFn(ctx, outRefundNo)
	}
	return p.Client.QueryRefund(ctx, outRefundNo)
}

// MerchantPublicKey is the public half of the merchant key every Env signs
// with (paySign, API requests).
func MerchantPublicKey() *rsa.PublicKey {
	m, _ := keys()
	return &m.PublicKey
}
