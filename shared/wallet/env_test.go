package wallet_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

const (
	appID      = "wx0123456789abcdef"
	mchID      = "1900000001"
	certSerial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key   = "0123456789abcdefghijklmnopqrstuv"
)

var keys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	m, _ := rsa.GenerateKey(rand.Reader, 2048)
	p, _ := rsa.GenerateKey(rand.Reader, 2048)
	return m, p
})

// env is a wallet on a real backend, paid through the WeChat Pay emulator
// and minifn's pay client over loopback; receive (below) takes the
// notifies. The real pay-notify route, which hands a top-up's notify to the
// wallet by its out_trade_no, is tested through minifn dev
// (cmd/minifn/wallet_test.go) and in shared/functions/orderfn.
type env struct {
	st     store.Store
	emu    *emulator.Emulator
	client *pay.Client
	w      *wallet.Service
	skew   atomic.Int64 // added to the wallet's clock (expiry tests)
}

func newEnv(t testing.TB, b storetest.Backend) *env {
	t.Helper()
	mk, pk := keys()
	e := &env{}
	e.st = b.Open(t, time.Now)
	var api http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	emu, err := emulator.New(emulator.Options{
		Merchants: map[string]emulator.Merchant{mchID: {PublicKey: &mk.PublicKey, CertSerial: certSerial, APIv3Key: apiV3Key, AppIDs: []string{appID}}},
		Key:       pk, PublicKeyID: "PUB_KEY_ID_0114232134912410000000000000",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.emu = emu
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { emu.Close(); emuSrv.Close() })
	pub, pubID := emu.PublicKey()
	e.client, err = pay.New(pay.Config{AppID: appID, MchID: mchID, CertSerial: certSerial, PrivateKey: mk, APIv3Key: apiV3Key,
		PublicKeyID: pubID, PublicKey: pub, BaseURL: emuSrv.URL, NotifyURL: srv.URL + "/pay/notify", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.w = wallet.New(e.st, wallet.Options{Pay: e.client, TTL: 15 * time.Minute,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay/notify", e.receive)
	api = mux
	return e
}

// receive is the pay-notify receiver of the domain tests: it verifies and
// decrypts the notify with the real client and applies it with the wallet,
// answering 204 once applied and 500 otherwise, so that the emulator
// retries as WeChat Pay would.
func (e *env) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	n, err := e.client.ParseNotify(r.Header, body)
	switch {
	case err != nil:
	case n.Transaction != nil:
		_, err = e.w.HandlePayment(r.Context(), *n.Transaction)
	case n.Refund != nil:
		_, err = e.w.HandleRefund(r.Context(), *n.Refund)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// settle waits until the emulator has finished every notify (delivered or
// given up) and fails the test for any that was not delivered.
func (e *env) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, all := true, e.emu.Notifies()
		for _, d := range all {
			done = done && (d.Delivered || d.Done)
		}
		if done {
			for _, d := range all {
				if !d.Delivered && d.Mode == "" {
					t.Errorf("notify %s (%s %s) was never acknowledged: %+v", d.ID, d.EventType, d.OutTradeNo, d.Attempts)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifies still in flight after 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// check asserts, for a quiet wallet, that no counter is negative and that
// the ledger sums to the balance (and its parts to the counters).
func (e *env) check(t testing.TB, openid string) wallet.Balance {
	t.Helper()
	ctx := context.Background()
	bal, err := e.w.Get(ctx, openid)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Principal < 0 || bal.Bonus < 0 || bal.Balance != bal.Principal+bal.Bonus {
		t.Errorf("%s: balance %+v", openid, bal)
	}
	var sum, sp, sb int64
	after := ""
	for {
		es, next, err := e.w.Ledger(ctx, openid, after, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range es {
			if x.Amount != x.Principal+x.Bonus {
				t.Errorf("%s: entry %+v: amount is not principal + bonus", openid, x)
			}
			sum, sp, sb = sum+x.Amount, sp+x.Principal, sb+x.Bonus
		}
		if next == "" {
			break
		}
		after = next
	}
	if sum != bal.Balance || sp != bal.Principal || sb != bal.Bonus {
		t.Errorf("%s: ledger sums to %d (principal %d, bonus %d); balance %+v", openid, sum, sp, sb, bal)
	}
	return bal
}

func (e *env) plan(t testing.TB, amount, bonus int64) wallet.Plan {
	t.Helper()
	p, _, err := e.w.CreatePlan(context.Background(), wallet.PlanInput{Amount: amount, Bonus: bonus}, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// topUp creates a top-up and has the user pay it at the emulator.
func (e *env) topUp(t testing.TB, openid string, p wallet.Plan) wallet.TopUp {
	t.Helper()
	ctx := context.Background()
	c, err := e.w.CreateTopUp(ctx, openid, p.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Payment == nil || c.TopUp.Status != wallet.Pending || !wallet.IsTradeNo(c.TopUp.OutTradeNo) {
		t.Fatalf("top-up: %+v", c)
	}
	if err := e.emu.Pay(ctx, c.TopUp.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	return c.TopUp
}
