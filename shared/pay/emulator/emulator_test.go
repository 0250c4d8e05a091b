package emulator_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"

	"github.com/minifn/minifn/shared/pay/emulator"
)

const (
	mchID    = "1900000109"
	appID    = "wxd678efh567hg6787"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key = "TEST0nly0apiv3key00000000000000x"
	fixtures = "../../../testdata/pay/"
)

// keys are the TEST ONLY fixtures in testdata/pay.
type keys struct {
	merchant, platform, other *rsa.PrivateKey
}

func loadKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(fixtures + name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func loadKeys(t testing.TB) keys {
	return keys{loadKey(t, "merchant_private_key.pem"), loadKey(t, "platform_private_key.pem"), loadKey(t, "other_private_key.pem")}
}

type env struct {
	k       keys
	emu     *emulator.Emulator
	srv     *httptest.Server
	now     *clock
	hook    *notifySink
	hookURL string
}

// clock is a settable clock; zero offset is the real time (the SDK's
// validator, used below, checks against time.Now).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// notifySink is a merchant notify endpoint: it records every request and
// answers with the next status of fail (then 204).
type notifySink struct {
	mu   sync.Mutex
	fail []int
	got  chan received
}

type received struct {
	header http.Header
	body   []byte
}

func (s *notifySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	status := http.StatusNoContent
	if len(s.fail) > 0 {
		status, s.fail = s.fail[0], s.fail[1:]
	}
	s.mu.Unlock()
	s.got <- received{r.Header.Clone(), body}
	w.WriteHeader(status)
}

func newEnv(t *testing.T, opts ...func(*emulator.Options)) *env {
	t.Helper()
	e := &env{k: loadKeys(t), now: &clock{}, hook: &notifySink{got: make(chan received, 64)}}
	o := emulator.Options{
		Merchants: map[string]emulator.Merchant{mchID: {
			PublicKey: &e.k.merchant.PublicKey, CertSerial: serial, APIv3Key: apiV3Key, AppIDs: []string{appID},
		}},
		Now: e.now.Now, Key: e.k.platform, PublicKeyID: "PUB_KEY_ID_0000TEST",
	}
	for _, f := range opts {
		f(&o)
	}
	emu, err := emulator.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.emu = emu
	e.srv = httptest.NewServer(emu.Handler())
	hook := httptest.NewServer(e.hook)
	t.Cleanup(func() { emu.Close(); e.srv.Close(); hook.Close() })
	e.hookURL = hook.URL + "/pay/notify"
	return e
}

// do sends a request signed as the docs describe, by mchid with key at ts.
func (e *env) do(t *testing.T, method, path, body string, key *rsa.PrivateKey, ts time.Time) (*http.Response, []byte) {
	t.Helper()
	resp, out := e.send(t, method, path, body, key, ts, nil)
	e.checkSigned(t, resp.Header, out)
	// The SDK's own response validator must accept it too.
	v := validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAPubkeyVerifier("PUB_KEY_ID_0000TEST", e.k.platform.PublicKey))
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if err := v.Validate(context.Background(), resp); err != nil && e.now.off == 0 {
		t.Fatalf("the SDK rejects the emulator's response: %v", err)
	}
	return resp, out
}

// doWith sends a request signed by the merchant now, with extra headers,
// and checks nothing.
func (e *env) doWith(t *testing.T, method, path, body string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	return e.send(t, method, path, body, e.k.merchant, time.Now(), h)
}

func decodeResp(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	decode(t, b, v)
}

func (e *env) send(t *testing.T, method, path, body string, key *rsa.PrivateKey, ts time.Time, extra http.Header) (*http.Response, []byte) {
	t.Helper()
	nonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
	stamp := strconv.FormatInt(ts.Unix(), 10)
	msg := method + "\n" + path + "\n" + stamp + "\n" + nonce + "\n" + body + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		mchID, nonce, stamp, serial, base64.StdEncoding.EncodeToString(sig)))
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// checkSigned verifies Wechatpay-Signature over "timestamp\nnonce\nbody\n".
func (e *env) checkSigned(t *testing.T, h http.Header, body []byte) {
	t.Helper()
	if h.Get("Wechatpay-Serial") != "PUB_KEY_ID_0000TEST" {
		t.Fatalf("Wechatpay-Serial = %q", h.Get("Wechatpay-Serial"))
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	if err := rsa.VerifyPKCS1v15(&e.k.platform.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature does not verify with the emulator's public key: %v", err)
	}
}

func (e *env) prepayBody(no string, total int) string {
	return fmt.Sprintf(`{"appid":%q,"mchid":%q,"description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":%q,`+
		`"notify_url":%q,"amount":{"total":%d,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"attach":"a1"}`,
		appID, mchID, no, e.hookURL, total)
}

func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var got struct{ Code, Message string }
	json.Unmarshal(body, &got)
	if resp.StatusCode != status || got.Code != code {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
}

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}

// open decrypts a notify body as the docs describe, with the APIv3 key.
func open(t *testing.T, body []byte) (envelope map[string]any, plain map[string]any) {
	t.Helper()
	decode(t, body, &envelope)
	res := envelope["resource"].(map[string]any)
	block, _ := aes.NewCipher([]byte(apiV3Key))
	aead, _ := cipher.NewGCM(block)
	ct, _ := base64.StdEncoding.DecodeString(res["ciphertext"].(string))
	out, err := aead.Open(nil, []byte(res["nonce"].(string)), ct, []byte(res["associated_data"].(string)))
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	decode(t, out, &plain)
	return envelope, plain
}

func (e *env) nextNotify(t *testing.T) received {
	t.Helper()
	select {
	case r := <-e.hook.got:
		e.checkSigned(t, r.header, r.body)
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no notify arrived")
		return received{}
	}
}

func TestPrepayQueryAndDuplicates(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240001", 100), e.k.merchant, time.Now())
	var p struct {
		PrepayID string `json:"prepay_id"`
	}
	decode(t, body, &p)
	if resp.StatusCode != 200 || !strings.HasPrefix(p.PrepayID, "wx") {
		t.Fatalf("prepay: %d %s", resp.StatusCode, body)
	}

	_, body = e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240001", 100), e.k.merchant, time.Now())
	var again struct {
		PrepayID string `json:"prepay_id"`
	}
	decode(t, body, &again)
	if again.PrepayID != p.PrepayID {
		t.Fatalf("same parameters gave another prepay_id: %s vs %s", again.PrepayID, p.PrepayID)
	}
	resp, body = e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240001", 101), e.k.merchant, time.Now())
	wantError(t, resp, body, 403, "OUT_TRADE_NO_USED")

	resp, body = e.do(t, "GET", "/v3/pay/transactions/out-trade-no/T20240001?mchid="+mchID, "", e.k.merchant, time.Now())
	var tx map[string]any
	decode(t, body, &tx)
	if resp.StatusCode != 200 || tx["trade_state"] != "NOTPAY" || tx["transaction_id"] != nil ||
		tx["amount"].(map[string]any)["total"] != 100.0 || tx["payer"].(map[string]any)["openid"] != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" {
		t.Fatalf("query: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "GET", "/v3/pay/transactions/out-trade-no/NOPE0001?mchid="+mchID, "", e.k.merchant, time.Now())
	wantError(t, resp, body, 404, "ORDER_NOT_EXIST")
	resp, body = e.do(t, "GET", "/v3/pay/transactions/out-trade-no/T20240001", "", e.k.merchant, time.Now())
	wantError(t, resp, body, 400, "PARAM_ERROR")
}

func TestSignError(t *testing.T) {
	e := newEnv(t)
	body := e.prepayBody("T20240002", 1)
	for name, tc := range map[string]struct {
		key *rsa.PrivateKey
		ts  time.Time
	}{
		"wrong key":        {e.k.other, time.Now()},
		"timestamp old":    {e.k.merchant, time.Now().Add(-6 * time.Minute)},
		"timestamp future": {e.k.merchant, time.Now().Add(6 * time.Minute)},
	} {
		t.Run(name, func(t *testing.T) {
			resp, out := e.do(t, "POST", "/v3/pay/transactions/jsapi", body, tc.key, tc.ts)
			wantError(t, resp, out, 401, "SIGN_ERROR")
		})
	}
	t.Run("body changed after signing", func(t *testing.T) {
		// Sign one body, send another: the signature covers the exact bytes.
		req, _ := http.NewRequest("POST", e.srv.URL+"/v3/pay/transactions/jsapi", strings.NewReader(body+" "))
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		sum := sha256.Sum256([]byte("POST\n/v3/pay/transactions/jsapi\n" + stamp + "\nN\n" + body + "\n"))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, e.k.merchant, crypto.SHA256, sum[:])
		req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="N",timestamp="%s",serial_no="%s",signature="%s"`,
			mchID, stamp, serial, base64.StdEncoding.EncodeToString(sig)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e.checkSigned(t, resp.Header, out)
		wantError(t, resp, out, 401, "SIGN_ERROR")
	})
	t.Run("no authorization", func(t *testing.T) {
		resp, err := http.Post(e.srv.URL+"/v3/pay/transactions/jsapi", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, out, 401, "SIGN_ERROR")
	})
}

func TestPrepayValidation(t *testing.T) {
	e := newEnv(t)
	base := func() map[string]any {
		var m map[string]any
		json.Unmarshal([]byte(e.prepayBody("T20240003", 1)), &m)
		return m
	}
	for name, tc := range map[string]struct {
		edit func(m map[string]any)
		code string
	}{
		"out_trade_no short":       {func(m map[string]any) { m["out_trade_no"] = "12345" }, "PARAM_ERROR"},
		"out_trade_no bad char":    {func(m map[string]any) { m["out_trade_no"] = "T2024#0001" }, "PARAM_ERROR"},
		"out_trade_no long":        {func(m map[string]any) { m["out_trade_no"] = strings.Repeat("9", 33) }, "PARAM_ERROR"},
		"description long":         {func(m map[string]any) { m["description"] = strings.Repeat("x", 128) }, "PARAM_ERROR"},
		"notify_url http":          {func(m map[string]any) { m["notify_url"] = "http://example.com/notify" }, "PARAM_ERROR"},
		"notify_url query":         {func(m map[string]any) { m["notify_url"] = "https://example.com/notify?a=1" }, "PARAM_ERROR"},
		"amount zero":              {func(m map[string]any) { m["amount"] = map[string]any{"total": 0} }, "PARAM_ERROR"},
		"currency":                 {func(m map[string]any) { m["amount"] = map[string]any{"total": 1, "currency": "USD"} }, "PARAM_ERROR"},
		"no openid":                {func(m map[string]any) { delete(m, "payer") }, "PARAM_ERROR"},
		"time_expire not RFC 3339": {func(m map[string]any) { m["time_expire"] = "2030-01-01 10:00:00" }, "PARAM_ERROR"},
		"mchid not the signer":     {func(m map[string]any) { m["mchid"] = "1900000110" }, "PARAM_ERROR"},
		"appid not bound":          {func(m map[string]any) { m["appid"] = "wx0000000000000000" }, "APPID_MCHID_NOT_MATCH"},
	} {
		t.Run(name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			b, _ := json.Marshal(m)
			resp, out := e.do(t, "POST", "/v3/pay/transactions/jsapi", string(b), e.k.merchant, time.Now())
			wantError(t, resp, out, 400, tc.code)
		})
	}
	t.Run("https notify_url and a valid time_expire pass", func(t *testing.T) {
		m := base()
		m["notify_url"] = "https://shop.example.com/pay/notify"
		m["time_expire"] = time.Now().Add(10 * time.Minute).In(time.FixedZone("", 8*3600)).Format(time.RFC3339)
		b, _ := json.Marshal(m)
		resp, out := e.do(t, "POST", "/v3/pay/transactions/jsapi", string(b), e.k.merchant, time.Now())
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
	})
}

func TestPayNotifyCloseAndQueryByID(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240004", 888), e.k.merchant, time.Now())
	if err := e.emu.Pay(context.Background(), "T20240004"); err != nil {
		t.Fatal(err)
	}
	n := e.nextNotify(t)
	if n.header.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" {
		t.Fatalf("headers: %v", n.header)
	}
	envl, tx := open(t, n.body)
	res := envl["resource"].(map[string]any)
	if envl["event_type"] != "TRANSACTION.SUCCESS" || envl["resource_type"] != "encrypt-resource" || envl["id"] == "" ||
		res["original_type"] != "transaction" || res["associated_data"] != "transaction" || len(res["nonce"].(string)) != 12 {
		t.Fatalf("envelope: %s", n.body)
	}
	if _, err := time.Parse(time.RFC3339, envl["create_time"].(string)); err != nil {
		t.Fatalf("create_time: %v", err)
	}
	amount := tx["amount"].(map[string]any)
	if tx["trade_state"] != "SUCCESS" || tx["mchid"] != mchID || tx["appid"] != appID || tx["out_trade_no"] != "T20240004" ||
		tx["trade_type"] != "JSAPI" || tx["attach"] != "a1" || amount["total"] != 888.0 || amount["payer_total"] != 888.0 ||
		amount["currency"] != "CNY" || tx["transaction_id"] == nil || tx["success_time"] == nil {
		t.Fatalf("resource: %v", tx)
	}

	resp, body := e.do(t, "GET", "/v3/pay/transactions/id/"+tx["transaction_id"].(string)+"?mchid="+mchID, "", e.k.merchant, time.Now())
	var q map[string]any
	decode(t, body, &q)
	if resp.StatusCode != 200 || q["trade_state"] != "SUCCESS" || q["out_trade_no"] != "T20240004" {
		t.Fatalf("query by id: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "POST", "/v3/pay/transactions/out-trade-no/T20240004/close", `{"mchid":"`+mchID+`"}`, e.k.merchant, time.Now())
	wantError(t, resp, body, 400, "ORDERPAID")
	if err := e.emu.Pay(context.Background(), "T20240004"); !errors.Is(err, emulator.ErrAlreadyPaid) {
		t.Fatalf("second pay: %v", err)
	}
}

func TestCloseThenPay(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240005", 5), e.k.merchant, time.Now())
	resp, body := e.do(t, "POST", "/v3/pay/transactions/out-trade-no/T20240005/close", `{"mchid":"`+mchID+`"}`, e.k.merchant, time.Now())
	if resp.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("close: %d %s", resp.StatusCode, body)
	}
	_, body = e.do(t, "GET", "/v3/pay/transactions/out-trade-no/T20240005?mchid="+mchID, "", e.k.merchant, time.Now())
	if !strings.Contains(string(body), `"trade_state":"CLOSED"`) {
		t.Fatalf("query after close: %s", body)
	}
	if err := e.emu.Pay(context.Background(), "T20240005"); !errors.Is(err, emulator.ErrClosed) {
		t.Fatalf("pay after close: %v", err)
	}
	resp, body = e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240005", 5), e.k.merchant, time.Now())
	wantError(t, resp, body, 400, "ORDER_CLOSED")
	resp, body = e.do(t, "POST", "/v3/pay/transactions/out-trade-no/NOPE0002/close", `{"mchid":"`+mchID+`"}`, e.k.merchant, time.Now())
	wantError(t, resp, body, 404, "ORDER_NOT_EXIST")
}

func TestExpiredCannotBePaid(t *testing.T) {
	e := newEnv(t)
	m := map[string]any{}
	json.Unmarshal([]byte(e.prepayBody("T20240006", 5)), &m)
	m["time_expire"] = time.Now().Add(2 * time.Minute).Format(time.RFC3339)
	b, _ := json.Marshal(m)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", string(b), e.k.merchant, time.Now())
	if len(e.emu.PendingTransactions()) != 1 {
		t.Fatal("the transaction is not pending")
	}
	e.now.Advance(3 * time.Minute)
	if err := e.emu.Pay(context.Background(), "T20240006"); !errors.Is(err, emulator.ErrExpired) {
		t.Fatalf("pay after time_expire: %v", err)
	}
	if len(e.emu.PendingTransactions()) != 0 {
		t.Fatal("an expired transaction is still pending")
	}
}

func waitDone(t *testing.T, emu *emulator.Emulator, n int) []emulator.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := emu.Notifies()
		done := len(ds) >= n
		for _, d := range ds {
			done = done && d.Done
		}
		if done {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not done: %+v", ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNotifyRetriesUntil2xx(t *testing.T) {
	e := newEnv(t)
	e.hook.fail = []int{500, 404}
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240007", 5), e.k.merchant, time.Now())
	e.emu.Pay(context.Background(), "T20240007")
	var ids []string
	for range 3 {
		envl, _ := open(t, e.nextNotify(t).body)
		ids = append(ids, envl["id"].(string))
	}
	ds := waitDone(t, e.emu, 1)
	if len(ds) != 1 || len(ds[0].Attempts) != 3 || !ds[0].Delivered ||
		ds[0].Attempts[0].Status != 500 || ds[0].Attempts[1].Status != 404 || ds[0].Attempts[2].Status != 204 {
		t.Fatalf("deliveries: %+v", ds)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("retries of one event must share the notify id: %v", ids)
	}
	select {
	case r := <-e.hook.got:
		t.Fatalf("a 4th delivery after 204: %s", r.body)
	default:
	}
}

func TestRefund(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240008", 100), e.k.merchant, time.Now())
	refund := func(no string, amount, total int) string {
		return fmt.Sprintf(`{"out_trade_no":"T20240008","out_refund_no":%q,"reason":"不要了","notify_url":%q,"amount":{"refund":%d,"total":%d,"currency":"CNY"}}`,
			no, e.hookURL, amount, total)
	}
	resp, body := e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R1", 30, 100), e.k.merchant, time.Now())
	wantError(t, resp, body, 400, "INVALID_REQUEST") // not paid yet
	e.emu.Pay(context.Background(), "T20240008")
	e.nextNotify(t)

	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R1", 30, 99), e.k.merchant, time.Now())
	wantError(t, resp, body, 400, "PARAM_ERROR") // total must match
	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R1", 30, 100), e.k.merchant, time.Now())
	var r map[string]any
	decode(t, body, &r)
	if resp.StatusCode != 200 || r["status"] != "PROCESSING" || r["refund_id"] == "" || r["out_refund_no"] != "R1" {
		t.Fatalf("refund: %d %s", resp.StatusCode, body)
	}
	envl, rr := open(t, e.nextNotify(t).body)
	if envl["event_type"] != "REFUND.SUCCESS" || rr["refund_status"] != "SUCCESS" || rr["out_refund_no"] != "R1" ||
		rr["amount"].(map[string]any)["refund"] != 30.0 || rr["mchid"] != mchID {
		t.Fatalf("refund notify: %v %v", envl, rr)
	}
	_, body = e.do(t, "GET", "/v3/refund/domestic/refunds/R1", "", e.k.merchant, time.Now())
	if !strings.Contains(string(body), `"status":"SUCCESS"`) {
		t.Fatalf("refund query: %s", body)
	}
	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R2", 71, 100), e.k.merchant, time.Now())
	wantError(t, resp, body, 400, "INVALID_REQUEST") // only 70 remain
	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R1", 30, 100), e.k.merchant, time.Now())
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"refund_id":"`+r["refund_id"].(string)) {
		t.Fatalf("repeated refund: %d %s", resp.StatusCode, body)
	}
	_, body = e.do(t, "GET", "/v3/pay/transactions/out-trade-no/T20240008?mchid="+mchID, "", e.k.merchant, time.Now())
	if !strings.Contains(string(body), `"trade_state":"REFUND"`) {
		t.Fatalf("order after refund: %s", body)
	}
	resp, body = e.do(t, "GET", "/v3/refund/domestic/refunds/NOPE", "", e.k.merchant, time.Now())
	wantError(t, resp, body, 404, "RESOURCE_NOT_EXISTS")
}

func TestManualRefund(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) { o.ManualRefunds = true })
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240009", 100), e.k.merchant, time.Now())
	e.emu.Pay(context.Background(), "T20240009")
	e.nextNotify(t)
	e.do(t, "POST", "/v3/refund/domestic/refunds",
		`{"out_trade_no":"T20240009","out_refund_no":"R9","notify_url":"`+e.hookURL+`","amount":{"refund":100,"total":100,"currency":"CNY"}}`,
		e.k.merchant, time.Now())
	_, body := e.do(t, "GET", "/v3/refund/domestic/refunds/R9", "", e.k.merchant, time.Now())
	if !strings.Contains(string(body), `"status":"PROCESSING"`) {
		t.Fatalf("refund before completion: %s", body)
	}
	resp, err := http.Post(e.srv.URL+"/_emulator/refunds/R9?status=ABNORMAL", "", nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("complete: %v %v", resp, err)
	}
	envl, rr := open(t, e.nextNotify(t).body)
	if envl["event_type"] != "REFUND.ABNORMAL" || rr["refund_status"] != "ABNORMAL" {
		t.Fatalf("notify: %v", rr)
	}
}

func TestControlRoutes(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240010", 42), e.k.merchant, time.Now())
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
	}
	var pending struct{ Transactions []emulator.Pending }
	get("/_emulator/pay/pending", &pending)
	if len(pending.Transactions) != 1 || pending.Transactions[0].OutTradeNo != "T20240010" || pending.Transactions[0].Total != 42 {
		t.Fatalf("pending: %+v", pending)
	}
	resp, _ := http.Post(e.srv.URL+"/_emulator/pay/T20240010", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	first := e.nextNotify(t)
	resp, _ = http.Post(e.srv.URL+"/_emulator/pay/T20240010", "", nil)
	if resp.StatusCode != 409 {
		t.Fatalf("second pay: %d", resp.StatusCode)
	}
	resp, _ = http.Post(e.srv.URL+"/_emulator/pay/NOPE0003", "", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("unknown pay: %d", resp.StatusCode)
	}
	ds := waitDone(t, e.emu, 1)
	for _, mode := range []string{"", "tampered", "stale"} {
		resp, _ = http.Post(e.srv.URL+"/_emulator/notifies/"+ds[0].ID+"/resend?mode="+mode, "", nil)
		if resp.StatusCode != 204 {
			t.Fatalf("resend %q: %d", mode, resp.StatusCode)
		}
		r := <-e.hook.got
		if !bytes.Equal(r.body, first.body) {
			t.Fatalf("resend %q changed the body", mode)
		}
		sig, _ := base64.StdEncoding.DecodeString(r.header.Get("Wechatpay-Signature"))
		sum := sha256.Sum256([]byte(r.header.Get("Wechatpay-Timestamp") + "\n" + r.header.Get("Wechatpay-Nonce") + "\n" + string(r.body) + "\n"))
		valid := rsa.VerifyPKCS1v15(&e.k.platform.PublicKey, crypto.SHA256, sum[:], sig) == nil
		ts, _ := strconv.ParseInt(r.header.Get("Wechatpay-Timestamp"), 10, 64)
		old := time.Since(time.Unix(ts, 0)) > 5*time.Minute
		if valid != (mode != "tampered") || old != (mode == "stale") {
			t.Fatalf("resend %q: valid signature %v, old %v", mode, valid, old)
		}
	}
	var list struct{ Notifies []emulator.Delivery }
	waitDone(t, e.emu, 4)
	get("/_emulator/notifies", &list)
	if len(list.Notifies) != 4 || list.Notifies[2].Mode != "tampered" || !list.Notifies[1].Delivered {
		t.Fatalf("notifies: %+v", list.Notifies)
	}
	get("/_emulator/pay/pending", &pending)
	if len(pending.Transactions) != 0 {
		t.Fatalf("pending after pay: %+v", pending)
	}
}

func TestSignedNotifyHelper(t *testing.T) {
	e := newEnv(t)
	at := time.Now().Add(-time.Hour)
	h, body, err := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", map[string]any{"out_trade_no": "X1"}, at)
	if err != nil {
		t.Fatal(err)
	}
	e.checkSigned(t, h, body)
	if h.Get("Wechatpay-Timestamp") != strconv.FormatInt(at.Unix(), 10) {
		t.Fatalf("timestamp %s", h.Get("Wechatpay-Timestamp"))
	}
	if _, plain := open(t, body); plain["out_trade_no"] != "X1" {
		t.Fatalf("plaintext %v", plain)
	}
	if _, _, err := e.emu.SignedNotify("nope", "TRANSACTION.SUCCESS", nil, at); err == nil {
		t.Fatal("unknown merchant accepted")
	}
}

func TestGeneratedKey(t *testing.T) {
	k := loadKeys(t)
	emu, err := emulator.New(emulator.Options{Merchants: map[string]emulator.Merchant{mchID: {
		PublicKey: &k.merchant.PublicKey, CertSerial: serial, APIv3Key: apiV3Key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	pub, id := emu.PublicKey()
	if !strings.HasPrefix(id, "PUB_KEY_ID_0000") || pub.N.BitLen() != 2048 {
		t.Fatalf("key id %q, %d bits", id, pub.N.BitLen())
	}
	block, _ := pem.Decode([]byte(emu.PublicKeyPEM()))
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !parsed.(*rsa.PublicKey).Equal(pub) {
		t.Fatalf("PEM does not hold the key: %v", err)
	}
	if _, err := emulator.New(emulator.Options{Merchants: map[string]emulator.Merchant{mchID: {CertSerial: serial}}}); err == nil {
		t.Fatal("a merchant without a public key was accepted")
	}
}

// TestRefundFaults: the refund-fault control route makes the next refund of
// an out_trade_no refused (403 NOT_ENOUGH, nothing recorded, so the same
// out_refund_no goes through afterwards) or end CLOSED with its notify.
func TestRefundFaults(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240011", 100), e.k.merchant, time.Now())
	e.emu.Pay(context.Background(), "T20240011")
	e.nextNotify(t)
	fault := func(no, body string) int {
		t.Helper()
		resp, err := http.Post(e.srv.URL+"/_emulator/pay/"+no+"/refund-fault", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{`{}`, `{"code":"NOPE"}`, `{"status":"SUCCESS"}`, `{"code":"NOT_ENOUGH","status":"CLOSED"}`, `{"code":"NOT_ENOUGH","count":-1}`, `not json`} {
		if s := fault("T20240011", bad); s != 400 {
			t.Fatalf("fault %s: %d, want 400", bad, s)
		}
	}
	if s := fault("T20240011", `{"code":"NOT_ENOUGH"}`); s != 204 {
		t.Fatalf("fault: %d", s)
	}
	refund := func(no string, amount int) string {
		return fmt.Sprintf(`{"out_trade_no":"T20240011","out_refund_no":%q,"notify_url":%q,"amount":{"refund":%d,"total":100,"currency":"CNY"}}`,
			no, e.hookURL, amount)
	}
	resp, body := e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R1", 40), e.k.merchant, time.Now())
	wantError(t, resp, body, 403, "NOT_ENOUGH")
	resp, body = e.do(t, "GET", "/v3/refund/domestic/refunds/R1", "", e.k.merchant, time.Now())
	wantError(t, resp, body, 404, "RESOURCE_NOT_EXISTS") // a refused refund is not recorded
	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R1", 40), e.k.merchant, time.Now())
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"PROCESSING"`) {
		t.Fatalf("the same out_refund_no after the fault: %d %s", resp.StatusCode, body)
	}
	if envl, _ := open(t, e.nextNotify(t).body); envl["event_type"] != "REFUND.SUCCESS" {
		t.Fatalf("notify %v", envl)
	}

	if s := fault("T20240011", `{"status":"CLOSED"}`); s != 204 {
		t.Fatalf("fault: %d", s)
	}
	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R2", 60), e.k.merchant, time.Now())
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"PROCESSING"`) {
		t.Fatalf("refund R2: %d %s", resp.StatusCode, body)
	}
	envl, rr := open(t, e.nextNotify(t).body)
	if envl["event_type"] != "REFUND.CLOSED" || rr["refund_status"] != "CLOSED" || rr["out_refund_no"] != "R2" {
		t.Fatalf("notify %v %v", envl, rr)
	}
	// A closed refund leaves its money refundable: a new out_refund_no takes it.
	resp, body = e.do(t, "POST", "/v3/refund/domestic/refunds", refund("R3", 60), e.k.merchant, time.Now())
	if resp.StatusCode != 200 {
		t.Fatalf("refund R3: %d %s", resp.StatusCode, body)
	}
	if envl, _ := open(t, e.nextNotify(t).body); envl["event_type"] != "REFUND.SUCCESS" {
		t.Fatalf("notify %v", envl)
	}
}
