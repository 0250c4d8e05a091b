package pay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// certEnv is a merchant in certificate mode: the emulator signs with its
// platform certificates, and clients (instances) share one store.
type certEnv struct {
	*env
	st    store.Store
	api   *httptest.Server
	hook  chan raw
	proxy func(w http.ResponseWriter, r *http.Request) bool // intercepts emulator requests when it returns true
	mu    sync.Mutex
}

type raw struct {
	h    http.Header
	body []byte
}

// newCertEnv builds the emulator (merchant in certificate mode) in front of
// which sits an optional interceptor, a notify sink, and a store of b.
func newCertEnv(t *testing.T, b storetest.Backend) *certEnv {
	t.Helper()
	e := &certEnv{env: &env{merchant: mustKey(t, "merchant_private_key.pem"), platform: mustKey(t, "platform_private_key.pem"),
		other: mustKey(t, "other_private_key.pem"), clock: &clock{}, expire: time.Now().Add(30 * time.Minute)},
		hook: make(chan raw, 64)}
	emu, err := emulator.New(emulator.Options{
		Merchants: map[string]emulator.Merchant{mchID: {PublicKey: &e.merchant.PublicKey, CertSerial: serial,
			APIv3Key: apiV3Key, AppIDs: []string{appID}, Mode: emulator.ModeCertificate}},
		Now: e.clock.Now, Key: e.platform, PublicKeyID: keyID, CertKey: e.other,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.emu = emu
	h := emu.Handler()
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		p := e.proxy
		e.mu.Unlock()
		if p != nil && p(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.hook <- raw{r.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { emu.Close(); e.api.Close(); sink.Close() })
	e.st = b.Open(t, e.clock.Now)
	e.cfg = pay.Config{AppID: appID, MchID: mchID, CertSerial: serial, PrivateKey: e.merchant, APIv3Key: apiV3Key,
		BaseURL: e.api.URL, NotifyURL: sink.URL + "/pay/notify", Now: e.clock.Now, Store: e.st}
	e.client = e.newClient(t, func(*pay.Config) {})
	return e
}

func (e *certEnv) notify(t *testing.T) raw {
	t.Helper()
	select {
	case r := <-e.hook:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no notify arrived")
		return raw{}
	}
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func (e *certEnv) downloads() int { return e.emu.CertificateDownloads() }

// forged is a notify for out_trade_no no, encrypted rightly but signed by
// key under serial: what an attacker without the platform key can send.
func (e *certEnv) forged(t *testing.T, no, serialNo string) (http.Header, []byte) {
	t.Helper()
	_, body, err := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", map[string]any{"appid": appID, "mchid": mchID,
		"out_trade_no": no, "transaction_id": "4200000009", "trade_state": "SUCCESS",
		"amount": map[string]any{"total": 1, "payer_total": 1, "currency": "CNY"}}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return signWith(e.merchant, body, e.clock.Now(), serialNo), body
}

func TestCertificateMode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newCertEnv(t, b)
			ctx := context.Background()
			if e.downloads() != 0 {
				t.Fatal("a certificate was downloaded before any need")
			}
			// First need: the prepay answer is certificate-signed.
			e.prepay(t, "ORD202410001", 100)
			if n := e.downloads(); n != 1 {
				t.Fatalf("%d downloads after the first answer, want 1", n)
			}
			// Cached: more answers and a notify verify with no download.
			if _, err := e.client.Query(ctx, "ORD202410001"); err != nil {
				t.Fatal(err)
			}
			e.emu.Pay(ctx, "ORD202410001")
			n := e.notify(t)
			certs, _ := e.emu.Certificates()
			if certs[n.h.Get("Wechatpay-Serial")] == "" {
				t.Fatalf("notify serial %q is not a certificate's", n.h.Get("Wechatpay-Serial"))
			}
			if got, err := e.client.ParseNotify(n.h, n.body); err != nil || got.Transaction.OutTradeNo != "ORD202410001" {
				t.Fatalf("notify signed by a cached certificate: %+v %v", got, err)
			}
			// Another instance on the same store uses the same download.
			second := e.newClient(t, func(*pay.Config) {})
			if _, err := second.ParseNotify(n.h, n.body); err != nil {
				t.Fatalf("second instance: %v", err)
			}
			if _, err := second.Query(ctx, "ORD202410001"); err != nil {
				t.Fatal(err)
			}
			if n := e.downloads(); n != 1 {
				t.Fatalf("%d downloads for two instances, want 1", n)
			}

			// Rotation, a minute later: the next answer carries the new
			// serial; one refresh, then accepted.
			e.clock.Advance(61 * time.Second)
			rotated, err := e.emu.RotateCertificate(e.platform)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Query(ctx, "ORD202410001"); err != nil {
				t.Fatalf("answer signed by the rotated certificate: %v", err)
			}
			if n := e.downloads(); n != 2 {
				t.Fatalf("%d downloads after the rotation, want 2", n)
			}
			e.prepay(t, "ORD202410002", 100)
			e.emu.Pay(ctx, "ORD202410002")
			n = e.notify(t)
			if n.h.Get("Wechatpay-Serial") != rotated {
				t.Fatalf("notify after rotation signed by %q", n.h.Get("Wechatpay-Serial"))
			}
			for _, c := range []*pay.Client{e.client, second} {
				if _, err := c.ParseNotify(n.h, n.body); err != nil {
					t.Fatalf("notify signed by the rotated certificate: %v", err)
				}
			}
			if n := e.downloads(); n != 2 {
				t.Fatalf("%d downloads, want 2", n)
			}

			// Unknown serials: refused; a flood downloads at most once a minute, fleet-wide.
			for i := range 20 {
				h, body := e.forged(t, "ORD202410003", "7B"+strings.Repeat("0", 36)+strconv.Itoa(10+i))
				c := []*pay.Client{e.client, second}[i%2]
				if _, err := c.ParseNotify(h, body); !errors.Is(err, pay.ErrUnknownSerial) {
					t.Fatalf("unknown serial: %v", err)
				}
			}
			if n := e.downloads(); n != 2 {
				t.Fatalf("%d downloads after a flood within the minute, want still 2", n)
			}
			e.clock.Advance(61 * time.Second)
			for i := range 10 {
				h, body := e.forged(t, "ORD202410003", "7C"+strings.Repeat("0", 36)+strconv.Itoa(10+i))
				if _, err := second.ParseNotify(h, body); !errors.Is(err, pay.ErrUnknownSerial) {
					t.Fatalf("unknown serial: %v", err)
				}
			}
			if n := e.downloads(); n != 3 {
				t.Fatalf("%d downloads after a flood the next minute, want 3", n)
			}
			// A cert serial, but a signature by another key: refused as a bad signature.
			h, body := e.forged(t, "ORD202410003", rotated)
			if _, err := e.client.ParseNotify(h, body); !errors.Is(err, pay.ErrInvalidSignature) {
				t.Fatalf("right serial, wrong key: %v", err)
			}
			// In certificate mode the public key id is just an unknown serial.
			h, body = e.forged(t, "ORD202410003", keyID)
			if _, err := e.client.ParseNotify(h, body); !errors.Is(err, pay.ErrUnknownSerial) {
				t.Fatalf("public key id without a public key: %v", err)
			}
		})
	}
}

// A /v3/certificates answer whose signature does not verify is refused and
// nothing is cached; so is one signed by a key it does not carry.
func TestCertificateDownloadRefused(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newCertEnv(t, b)
			ctx := context.Background()
			for name, spoil := range map[string]func(h http.Header){
				"bad signature": func(h http.Header) {
					h.Set("Wechatpay-Signature", base64Sig(e, "something else"))
				},
				"signed by a key it does not carry": func(h http.Header) {
					h.Set("Wechatpay-Serial", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
				},
			} {
				e.mu.Lock()
				e.proxy = func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path != "/v3/certificates" {
						return false
					}
					rec := httptest.NewRecorder()
					e.emu.Handler().ServeHTTP(rec, r)
					h := rec.Header()
					spoil(h)
					for k, v := range h {
						w.Header()[k] = v
					}
					w.WriteHeader(rec.Code)
					w.Write(rec.Body.Bytes())
					return true
				}
				e.mu.Unlock()
				if _, err := e.client.Prepay(ctx, pay.PrepayRequest{OutTradeNo: "ORD20241009" + strconv.Itoa(len(name)),
					Description: "x", Total: 1, PayerOpenID: "o"}); !errors.Is(err, pay.ErrUnavailable) ||
					!strings.Contains(err.Error(), "download is refused") {
					t.Fatalf("%s: prepay verified: %v", name, err)
				}
				if _, err := e.st.Get(ctx, store.Key{PK: "pay#certs", SK: mchID}); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("%s: something was cached: %v", name, err)
				}
				e.clock.Advance(61 * time.Second) // past the rate limit
			}
			// Unspoilt, the same client then verifies.
			e.mu.Lock()
			e.proxy = nil
			e.mu.Unlock()
			if _, err := e.client.Query(ctx, "ORD202410099"); !errors.Is(err, pay.ErrOrderNotFound) {
				t.Fatalf("after the refusals: %v", err)
			}
		})
	}
}

func base64Sig(e *certEnv, msg string) string {
	s, _ := utils.SignSHA256WithRSA(msg, e.other)
	return s
}

// Public key and certificates together (a merchant switching): answers are
// signed with the key (the client names it in Wechatpay-Serial) and need no
// download; notifies verify either way.
func TestBothModes(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := newCertEnv(t, b)
	ctx := context.Background()
	pub, id := e.emu.PublicKey()
	c := e.newClient(t, func(c *pay.Config) { c.PublicKey, c.PublicKeyID = pub, id })
	e.client = c
	e.prepay(t, "ORD202410101", 100)
	e.prepay(t, "ORD202410102", 100)
	if n := e.downloads(); n != 0 {
		t.Fatalf("%d downloads for answers signed by the public key", n)
	}
	e.emu.Pay(ctx, "ORD202410101") // certificate-signed
	n := e.notify(t)
	if _, err := c.ParseNotify(n.h, n.body); err != nil || e.downloads() != 1 {
		t.Fatalf("certificate-signed notify: %v (%d downloads)", err, e.downloads())
	}
	if err := e.emu.SignNextNotify(mchID, emulator.ModePublicKey); err != nil {
		t.Fatal(err)
	}
	e.emu.Pay(ctx, "ORD202410102")
	n = e.notify(t)
	if n.h.Get("Wechatpay-Serial") != id {
		t.Fatalf("serial %q", n.h.Get("Wechatpay-Serial"))
	}
	if _, err := c.ParseNotify(n.h, n.body); err != nil {
		t.Fatalf("key-signed notify: %v", err)
	}
	// Without a store, the public key alone: a certificate serial is unknown.
	alone := e.newClient(t, func(c *pay.Config) { c.PublicKey, c.PublicKeyID, c.Store = pub, id, nil })
	h, body := e.forged(t, "ORD202410103", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
	if _, err := alone.ParseNotify(h, body); !errors.Is(err, pay.ErrUnknownSerial) {
		t.Fatalf("public key only: %v", err)
	}
	if _, err := pay.New(pay.Config{AppID: appID, MchID: mchID, CertSerial: serial, PrivateKey: e.merchant,
		APIv3Key: apiV3Key, NotifyURL: "https://x.example/n"}); err == nil || !strings.Contains(err.Error(), "Store") {
		t.Fatalf("neither a public key nor a store: %v", err)
	}
}

// Calibration against the official SDK: an answer signed the way
// wechatpay-go signs (utils.SignSHA256WithRSA over "ts\nnonce\nbody\n")
// verifies with our client, by the public key and by a certificate; and our
// decryption of encrypt_certificate matches utils.DecryptAES256GCM.
func TestCalibrationWithTheSDK(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := newCertEnv(t, b)
	ctx := context.Background()
	// What the emulator lists, decrypted by the SDK.
	e.prepay(t, "ORD202410201", 1) // our client downloads and caches
	it, err := e.st.Get(ctx, store.Key{PK: "pay#certs", SK: mchID})
	if err != nil {
		t.Fatal(err)
	}
	var cached struct {
		Certs []struct {
			Serial string `json:"serial_no"`
			PEM    string `json:"pem"`
		} `json:"certs"`
	}
	json.Unmarshal(it.Value, &cached)
	list := e.rawCertificates(t)
	if len(list.Data) != 1 || len(cached.Certs) != 1 {
		t.Fatalf("listed %d, cached %d", len(list.Data), len(cached.Certs))
	}
	d := list.Data[0]
	plain, err := utils.DecryptAES256GCM(apiV3Key, d.EncryptCertificate.AssociatedData, d.EncryptCertificate.Nonce, d.EncryptCertificate.Ciphertext)
	if err != nil || plain != cached.Certs[0].PEM || d.SerialNo != cached.Certs[0].Serial {
		t.Fatalf("the SDK's decryption differs from what we cached: %v", err)
	}

	// Answers signed by the SDK's signer.
	body := `{"appid":"` + appID + `","mchid":"` + mchID + `","out_trade_no":"ORD202410202","trade_state":"NOTPAY",` +
		`"trade_state_desc":"订单未支付","payer":{"openid":"o"},"amount":{"total":1,"currency":"CNY"}}`
	pub, id := e.emu.PublicKey()
	for name, s := range map[string]struct {
		serial string
		key    func() string
	}{
		"public key":  {id, func() string { return "platform" }},
		"certificate": {d.SerialNo, func() string { return "other" }},
	} {
		e.mu.Lock()
		e.proxy = func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasPrefix(r.URL.Path, "/v3/pay/transactions/out-trade-no/") {
				return false
			}
			ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "SDKN0NCE"
			key := e.platform
			if s.key() == "other" {
				key = e.other
			}
			sig, err := utils.SignSHA256WithRSA(ts+"\n"+nonce+"\n"+body+"\n", key)
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Wechatpay-Timestamp", ts)
			w.Header().Set("Wechatpay-Nonce", nonce)
			w.Header().Set("Wechatpay-Serial", s.serial)
			w.Header().Set("Wechatpay-Signature", sig)
			w.Header().Set("Content-Type", "application/json")
			io.Copy(w, bytes.NewReader([]byte(body)))
			return true
		}
		e.mu.Unlock()
		c := e.newClient(t, func(c *pay.Config) { c.PublicKey, c.PublicKeyID = pub, id })
		if tx, err := c.Query(ctx, "ORD202410202"); err != nil || tx.OutTradeNo != "ORD202410202" {
			t.Fatalf("%s: an answer signed by the SDK's signer: %+v %v", name, tx, err)
		}
	}
}

type certList struct {
	Data []struct {
		SerialNo           string `json:"serial_no"`
		EncryptCertificate struct {
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// rawCertificates fetches /v3/certificates as the merchant, unverified.
func (e *certEnv) rawCertificates(t *testing.T) certList {
	t.Helper()
	var out certList
	var got []byte
	e.mu.Lock()
	e.proxy = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v3/certificates" {
			return false
		}
		rec := httptest.NewRecorder()
		e.emu.Handler().ServeHTTP(rec, r)
		got = rec.Body.Bytes()
		w.WriteHeader(rec.Code)
		w.Write(got)
		return true
	}
	e.mu.Unlock()
	e.clock.Advance(61 * time.Second)
	// An unknown serial makes the client download (the answer passes through the proxy).
	h, body := e.forged(t, "ORD202410299", "7D0000000000000000000000000000000000000001")
	e.client.ParseNotify(h, body)
	e.mu.Lock()
	e.proxy = nil
	e.mu.Unlock()
	if err := json.Unmarshal(got, &out); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	return out
}
