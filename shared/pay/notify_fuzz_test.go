package pay_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/pay"
)

// Fuzz targets for the notify parser, at three depths: raw headers and body
// (stops at the signature), a body signed with the platform key (reaches the
// envelope), and a resource plaintext sealed with the APIv3 key (reaches the
// transaction and refund decoders). Every outcome is a Notify or one of the
// package's 4xx errors: never a panic, never an internal error. Run with
//
//	go test ./shared/pay -run '^$' -fuzz FuzzParseNotifyResource -fuzztime 30s
//
// (.ci/fuzz.sh runs them all).

func checkNotifyErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.Unauthenticated && k != apperr.Forbidden {
		t.Fatalf("ParseNotify error %v has kind %v; want a 4xx kind", err, k)
	}
}

func FuzzParseNotifyRaw(f *testing.F) {
	e := newEnv(f)
	h, body, err := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", successResource("ORD1"), e.clock.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.Get("Wechatpay-Serial"), h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), h.Get("Wechatpay-Signature"), body)
	f.Add(keyID, "0", "n", "!!", []byte(`{}`))
	f.Fuzz(func(t *testing.T, serial, ts, nonce, sig string, body []byte) {
		h := http.Header{}
		h.Set("Wechatpay-Serial", serial)
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Signature", sig)
		_, err := e.client.ParseNotify(h, body)
		checkNotifyErr(t, err)
	})
}

// fuzzSigner signs notifies as WeChat Pay does, with a 1024-bit platform key
// of its own (four times faster to sign than the fixture's 2048-bit one, so
// the fuzzer runs deeper), and has a client that trusts that key.
type fuzzSigner struct {
	e      *env
	key    *rsa.PrivateKey
	client *pay.Client
}

func newFuzzSigner(f *testing.F) *fuzzSigner {
	e := newEnv(f)
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzSigner{e: e, key: key, client: e.newClient(f, func(c *pay.Config) { c.PublicKey = &key.PublicKey })}
}

// signed returns WeChat Pay's headers for body.
func (s *fuzzSigner) signed(t testing.TB, body []byte) http.Header {
	ts := strconv.FormatInt(s.e.clock.Now().Unix(), 10)
	nonce := "fuzznonce0123456789abcdefABCDEF0"
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Wechatpay-Serial", keyID)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	return h
}

func FuzzParseNotifySigned(f *testing.F) {
	s := newFuzzSigner(f)
	_, body, err := s.e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", successResource("ORD1"), s.e.clock.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte(`{"id":"x","event_type":"REFUND.SUCCESS","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"123456789012","ciphertext":"AAAA"}}`))
	f.Add([]byte(`{"resource":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := s.client.ParseNotify(s.signed(t, body), body)
		checkNotifyErr(t, err)
	})
}

func FuzzParseNotifyResource(f *testing.F) {
	s := newFuzzSigner(f)
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		f.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		f.Fatal(err)
	}
	tx, _ := json.Marshal(successResource("ORD1"))
	f.Add("TRANSACTION.SUCCESS", "transaction", tx)
	f.Add("REFUND.SUCCESS", "refund", []byte(`{"mchid":"`+mchID+`","out_trade_no":"ORD1","out_refund_no":"R1","refund_status":"SUCCESS","amount":{"total":1,"refund":1}}`))
	f.Add("TRANSACTION.SUCCESS", "transaction", []byte(`{"amount":{"total":-1}}`))
	// Signed and sealed correctly, but for someone else or incomplete: the
	// parser refuses another appid or mchid (the property below); a foreign
	// currency or a missing transaction_id reaches the order's checks
	// (shared/order's FuzzHandlePayment holds those to never marking paid).
	for _, edit := range []func(map[string]any){
		func(r map[string]any) { r["appid"] = "wx00000000000000ff" },
		func(r map[string]any) { delete(r, "appid") },
		func(r map[string]any) { r["mchid"] = "1900000002" },
		func(r map[string]any) { delete(r, "mchid") },
		func(r map[string]any) { r["amount"].(map[string]any)["currency"] = "USD" },
		func(r map[string]any) { delete(r, "transaction_id") },
	} {
		r := successResource("ORD1")
		edit(r)
		b, _ := json.Marshal(r)
		f.Add("TRANSACTION.SUCCESS", "transaction", b)
	}
	f.Add("REFUND.SUCCESS", "refund", []byte(`{"mchid":"1900000002","out_trade_no":"ORD1","out_refund_no":"R1","refund_status":"SUCCESS","amount":{"total":1,"refund":1}}`))
	f.Fuzz(func(t *testing.T, eventType, originalType string, plain []byte) {
		nonce := "0123456789ab"
		env, _ := json.Marshal(map[string]any{
			"id": "EV-fuzz", "create_time": "2024-05-20T13:29:35+08:00", "resource_type": "encrypt-resource",
			"event_type": eventType, "summary": "fuzz",
			"resource": map[string]string{"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
				"associated_data": originalType, "nonce": nonce,
				"ciphertext": base64.StdEncoding.EncodeToString(aead.Seal(nil, []byte(nonce), plain, []byte(originalType)))},
		})
		n, err := s.client.ParseNotify(s.signed(t, env), env)
		checkNotifyErr(t, err)
		if err != nil {
			return
		}
		// What the parser accepts is this merchant's, and names what it is about.
		if tx := n.Transaction; tx != nil && (tx.OutTradeNo == "" || tx.MchID != mchID || tx.AppID != appID) {
			t.Fatalf("accepted a transaction without an order or for someone else: %+v", tx)
		}
		if rf := n.Refund; rf != nil && (rf.OutRefundNo == "" || rf.MchID != mchID) {
			t.Fatalf("accepted a refund naming no refund or for someone else: %+v", rf)
		}
	})
}

// successResource is a paid transaction's notify resource.
func successResource(outTradeNo string) map[string]any {
	return map[string]any{"appid": appID, "mchid": mchID, "out_trade_no": outTradeNo, "transaction_id": "4200000001",
		"trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "ok", "bank_type": "OTHERS",
		"success_time": "2024-05-20T13:29:35+08:00", "payer": map[string]any{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		"amount": map[string]any{"total": 1999, "payer_total": 1999, "currency": "CNY", "payer_currency": "CNY"}}
}
