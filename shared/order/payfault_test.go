package order_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/store/storetest"
)

// What the faulty WeChat Pay server in front of the emulator does.
const (
	payForward int32 = iota // pass requests to the emulator
	payHang                 // answer nothing until the client gives up
	payFail                 // answer 500 SYSTEM_ERROR
)

// faultyPay is a real pay.Client talking over loopback HTTP to a server
// that forwards to a Pay emulator, hangs or fails, as mode says.
type faultyPay struct {
	client  *pay.Client
	mode    atomic.Int32
	hits    atomic.Int32 // requests that reached the faulty server
	timeout time.Duration
}

func newFaultyPay(t *testing.T, e *ordertest.Env) *faultyPay {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emulator.Options{Merchants: map[string]emulator.Merchant{ordertest.MchID: {
		PublicKey: &key.PublicKey, CertSerial: ordertest.CertSerial, APIv3Key: ordertest.APIv3Key,
		AppIDs: []string{ordertest.AppID}}}, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { emu.Close(); emuSrv.Close() })
	target, _ := url.Parse(emuSrv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)

	f := &faultyPay{timeout: time.Second}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		switch f.mode.Load() {
		case payHang:
			// The server notices a hang-up only once the body is read.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done(): // the client gave up
			case <-release: // the test is over
			}
		case payFail:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"code":"SYSTEM_ERROR","message":"系统繁忙"}`))
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	pub, pubID := emu.PublicKey()
	f.client, err = pay.New(pay.Config{
		AppID: ordertest.AppID, MchID: ordertest.MchID, CertSerial: ordertest.CertSerial, PrivateKey: key,
		APIv3Key: ordertest.APIv3Key, PublicKeyID: pubID, PublicKey: pub, BaseURL: srv.URL,
		NotifyURL: e.Server.URL + "/pay/notify", Now: e.Clock.Now,
		HTTP: &http.Client{Timeout: f.timeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPayServerFaults: WeChat Pay hanging past the client's timeout, or
// answering 500, makes Create fail with ErrPrepayFailed (502) within that timeout,
// with the stock and the coupon released. A retry with the same
// Idempotency-Key after Pay recovers replays the failure (documented in
// Service.Create) and reserves nothing; a new key then creates the order.
func TestPayServerFaults(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		f := newFaultyPay(t, e)
		e.Pay.PrepayFn = f.client.Prepay
		e.Product(t, "tea", 1000, ptr[int64](5))
		c := e.Coupon(t, "u1", 100, 0)
		ctx := context.Background()
		req := order.CreateRequest{Items: []order.LineRequest{{SKU: "tea", Quantity: 2}}, CouponID: c.ID}

		for _, tc := range []struct {
			name string
			mode int32
			key  string
		}{{"hang", payHang, "k-hang"}, {"500", payFail, "k-500"}} {
			f.mode.Store(tc.mode)
			hits := f.hits.Load()
			start := time.Now()
			_, err := e.Orders.Create(ctx, "u1", req, tc.key)
			took := time.Since(start)
			if !errors.Is(err, order.ErrPrepayFailed) {
				t.Fatalf("%s: Create = %v; want ErrPrepayFailed", tc.name, err)
			}
			if f.hits.Load() == hits {
				t.Fatalf("%s: the Pay server was never called", tc.name)
			}
			// A correctness bound (the request is not held past the
			// client's timeout), not a speed claim.
			if limit := f.timeout + 3*time.Second; took > limit {
				t.Errorf("%s: the 502 took %s; want under %s", tc.name, took, limit)
			}
			if s := e.Stock(t, "tea"); s != 5 {
				t.Errorf("%s: stock %d after the failed prepay; want 5", tc.name, s)
			}
			if s := couponStatus(t, e, "u1", c.ID); s != coupon.Usable {
				t.Errorf("%s: coupon %s after the failed prepay; want usable", tc.name, s)
			}
			if n := pendingCount(t, e.Store); n != 0 {
				t.Errorf("%s: %d pending orders after the failed prepay; want 0", tc.name, n)
			}
		}

		// Pay recovers. The failed keys replay their failure without calling
		// Pay or touching the stock.
		f.mode.Store(payForward)
		hits := f.hits.Load()
		for _, k := range []string{"k-hang", "k-500"} {
			if _, err := e.Orders.Create(ctx, "u1", req, k); !errors.Is(err, order.ErrPrepayFailed) {
				t.Errorf("retry of %s: %v; want the failure replayed (ErrPrepayFailed)", k, err)
			}
		}
		if f.hits.Load() != hits || e.Stock(t, "tea") != 5 {
			t.Errorf("the replays called Pay %d times and left stock %d; want 0 calls and 5",
				f.hits.Load()-hits, e.Stock(t, "tea"))
		}

		// A new key creates the order, reserving the stock once and using
		// the coupon; its retry replays it without reserving again.
		for range 2 {
			if _, err := e.Orders.Create(ctx, "u1", req, "k-new"); err != nil {
				t.Fatalf("create once Pay is back: %v", err)
			}
		}
		if s := e.Stock(t, "tea"); s != 3 {
			t.Errorf("stock %d after the order and its retry; want 3", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s == coupon.Usable {
			t.Errorf("coupon still usable after the order")
		}
		if n := pendingCount(t, e.Store); n != 1 {
			t.Errorf("%d pending orders; want 1", n)
		}
	})
}
