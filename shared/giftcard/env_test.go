package giftcard_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/giftcard"
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

// env is gift cards and a wallet on a real backend, paid through the
// WeChat Pay emulator and minifn's pay client over loopback.
type env struct {
	st     store.Store
	emu    *emulator.Emulator
	client *pay.Client
	w      *wallet.Service
	g      *giftcard.Service
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
	e.w = wallet.New(e.st, wallet.Options{Pay: e.client})
	e.g = giftcard.New(e.st, giftcard.Options{Pay: e.client, Wallet: e.w})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay/notify", e.receive)
	api = mux
	return e
}

// receive applies a card's payment notify, 204 once applied, 500 otherwise
// (the emulator retries).
func (e *env) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	n, err := e.client.ParseNotify(r.Header, body)
	if err == nil && n.Transaction != nil {
		_, err = e.g.HandlePayment(r.Context(), *n.Transaction)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

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
					t.Errorf("notify %s was never acknowledged: %+v", d.ID, d.Attempts)
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

// check asserts that openid's ledger sums to the balance and its parts to
// the counters; it returns the balance.
func (e *env) check(t testing.TB, openid string) wallet.Balance {
	t.Helper()
	ctx := context.Background()
	bal, err := e.w.Get(ctx, openid)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sp, sb int64
	es, _, err := e.w.Ledger(ctx, openid, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range es {
		sum, sp, sb = sum+x.Amount, sp+x.Principal, sb+x.Bonus
	}
	if bal.Principal < 0 || bal.Bonus < 0 || sum != bal.Balance || sp != bal.Principal || sb != bal.Bonus {
		t.Errorf("%s: ledger sums to %d (%d + %d); balance %+v", openid, sum, sp, sb, bal)
	}
	return bal
}

// paidCard buys a card for openid and pays it at the emulator.
func (e *env) paidCard(t testing.TB, openid string, amount int64) giftcard.Card {
	t.Helper()
	ctx := context.Background()
	b, err := e.g.Buy(ctx, openid, amount, "生日快乐", "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Payment == nil || b.Card.Status != giftcard.Pending || !giftcard.IsTradeNo(b.Card.OutTradeNo) {
		t.Fatalf("bought: %+v", b)
	}
	if err := e.emu.Pay(ctx, b.Card.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	return b.Card
}
