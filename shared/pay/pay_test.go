package pay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/pay/emulator"
)

const (
	mchID    = "1900000109"
	appID    = "wxd678efh567hg6787"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key = "TEST0nly0apiv3key00000000000000x"
	keyID    = "PUB_KEY_ID_0000TEST"
	fixtures = "../../testdata/pay/"
)

func mustKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := pay.LoadPrivateKey(fixtures + name) // a path, as MINIFN_PAY_PRIVATE_KEY may be
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clock is a settable clock shared by the client and the emulator.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// env is a merchant (our client) and WeChat Pay (the emulator) on loopback,
// with the pay-notify endpoint answering as the real handler should.
type env struct {
	merchant, platform, other *rsa.PrivateKey
	emu                       *emulator.Emulator
	client                    *pay.Client
	cfg                       pay.Config
	clock                     *clock
	// expire is the time_expire of every prepay of the env: fixed, so that
	// a repeated prepay is identical even when the two straddle a second
	// (WeChat Pay answers OUT_TRADE_NO_USED to any other parameter).
	expire    time.Time
	notifies  chan pay.Notify
	rejected  chan error
	failFirst int // answer 500 to this many valid notifies first
	mu        sync.Mutex
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{merchant: mustKey(t, "merchant_private_key.pem"), platform: mustKey(t, "platform_private_key.pem"),
		other: mustKey(t, "other_private_key.pem"), clock: &clock{}, expire: time.Now().Add(30 * time.Minute),
		notifies: make(chan pay.Notify, 16), rejected: make(chan error, 16)}
	emu, err := emulator.New(emulator.Options{
		Merchants: map[string]emulator.Merchant{mchID: {
			PublicKey: &e.merchant.PublicKey, CertSerial: serial, APIv3Key: apiV3Key, AppIDs: []string{appID}}},
		Now: e.clock.Now, Key: e.platform, PublicKeyID: keyID,
	})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(emu.Handler())
	hook := httptest.NewServer(http.HandlerFunc(e.notifyHandler))
	t.Cleanup(func() { emu.Close(); api.Close(); hook.Close() })
	pub, id := emu.PublicKey()
	e.emu = emu
	e.cfg = pay.Config{AppID: appID, MchID: mchID, CertSerial: serial, PrivateKey: e.merchant, APIv3Key: apiV3Key,
		PublicKeyID: id, PublicKey: pub, BaseURL: api.URL, NotifyURL: hook.URL + "/pay/notify", Now: e.clock.Now}
	e.client = e.newClient(t, func(*pay.Config) {})
	return e
}

func (e *env) newClient(t testing.TB, edit func(*pay.Config)) *pay.Client {
	t.Helper()
	cfg := e.cfg
	edit(&cfg)
	c, err := pay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// notifyHandler is what pay-notify does: verify the raw body, then 204, or
// 4xx {"code":"FAIL"} so that WeChat Pay retries.
func (e *env) notifyHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := e.client.ParseNotify(r.Header, body)
	if err != nil {
		e.rejected <- err
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"code": "FAIL", "message": apperr.From(err).Message})
		return
	}
	e.mu.Lock()
	fail := e.failFirst > 0
	e.failFirst--
	e.mu.Unlock()
	e.notifies <- n
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *env) next(t testing.TB) pay.Notify {
	t.Helper()
	select {
	case n := <-e.notifies:
		return n
	case err := <-e.rejected:
		t.Fatalf("notify rejected: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no notify arrived")
	}
	return pay.Notify{}
}

func (e *env) prepay(t testing.TB, no string, total int64) string {
	t.Helper()
	id, err := e.client.Prepay(context.Background(), pay.PrepayRequest{OutTradeNo: no, Description: "测试商品", Total: total,
		PayerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", TimeExpire: e.expire, Attach: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPrepayPayNotifyEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prepayID := e.prepay(t, "ORD202400001", 1999)

	p, err := e.client.PaymentParams(prepayID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Package != "prepay_id="+prepayID || p.SignType != "RSA" || len(p.NonceStr) != 32 {
		t.Fatalf("payment params: %+v", p)
	}
	if ts, _ := strconv.ParseInt(p.TimeStamp, 10, 64); time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Fatalf("timeStamp %s is not now", p.TimeStamp)
	}
	// paySign as the mini-program's WeChat client checks it: merchant public key over appId\ntimeStamp\nnonceStr\npackage\n.
	sig, _ := base64.StdEncoding.DecodeString(p.PaySign)
	sum := sha256.Sum256([]byte(appID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(&e.merchant.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify: %v", err)
	}

	tx, err := e.client.Query(ctx, "ORD202400001")
	if err != nil || tx.TradeState != pay.StateNotPay || tx.Amount.Total != 1999 || tx.Paid() {
		t.Fatalf("query before pay: %+v %v", tx, err)
	}
	if err := e.emu.Pay(ctx, "ORD202400001"); err != nil {
		t.Fatal(err)
	}
	n := e.next(t)
	got := n.Transaction
	if n.EventType != "TRANSACTION.SUCCESS" || n.ID == "" || got == nil || n.Refund != nil {
		t.Fatalf("notify: %+v", n)
	}
	if got.OutTradeNo != "ORD202400001" || got.TradeState != pay.StateSuccess || got.Amount.Total != 1999 ||
		got.Amount.PayerTotal != 1999 || got.MchID != mchID || got.AppID != appID || got.Attach != "order-1" ||
		got.TransactionID == "" || got.SuccessTime.IsZero() || got.PayerOpenID != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" ||
		got.TradeType != "JSAPI" || !got.Paid() {
		t.Fatalf("notify transaction: %+v", got)
	}
	q, err := e.client.Query(ctx, "ORD202400001")
	if err != nil || q.TransactionID != got.TransactionID || q.TradeState != pay.StateSuccess || !q.SuccessTime.Equal(got.SuccessTime) {
		t.Fatalf("query after pay: %+v %v", q, err)
	}
	q, err = e.client.QueryByTransactionID(ctx, got.TransactionID)
	if err != nil || q.OutTradeNo != "ORD202400001" {
		t.Fatalf("query by id: %+v %v", q, err)
	}
	if err := e.client.Close(ctx, "ORD202400001"); !errors.Is(err, pay.ErrOrderPaid) {
		t.Fatalf("close after pay: %v", err)
	}
	var api *pay.APIError
	if err := e.client.Close(ctx, "ORD202400001"); !errors.As(err, &api) || api.Code != "ORDERPAID" || api.Status != 400 {
		t.Fatalf("cause: %#v", api)
	}
	if _, err := e.client.Prepay(ctx, pay.PrepayRequest{OutTradeNo: "ORD202400001", Description: "测试商品", Total: 1999,
		PayerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}); !errors.Is(err, pay.ErrOrderPaid) {
		t.Fatalf("prepay after pay: %v", err)
	}
}

func TestCloseAndPrepayErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.prepay(t, "ORD202400002", 500)
	if again := e.prepay(t, "ORD202400002", 500); again != id {
		t.Fatalf("identical prepay gave %s, then %s", id, again)
	}
	_, err := e.client.Prepay(ctx, pay.PrepayRequest{OutTradeNo: "ORD202400002", Description: "测试商品", Total: 501,
		PayerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
	if !errors.Is(err, pay.ErrOutTradeNoUsed) {
		t.Fatalf("prepay with other parameters: %v", err)
	}
	if err := e.client.Close(ctx, "ORD202400002"); err != nil {
		t.Fatalf("close: %v", err)
	}
	if tx, err := e.client.Query(ctx, "ORD202400002"); err != nil || tx.TradeState != pay.StateClosed {
		t.Fatalf("query after close: %+v %v", tx, err)
	}
	if err := e.emu.Pay(ctx, "ORD202400002"); !errors.Is(err, emulator.ErrClosed) {
		t.Fatalf("pay after close: %v", err)
	}
	if _, err := e.client.Prepay(ctx, pay.PrepayRequest{OutTradeNo: "ORD202400002", Description: "测试商品", Total: 500,
		PayerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}); !errors.Is(err, pay.ErrOrderClosed) {
		t.Fatalf("prepay after close: %v", err)
	}
	if _, err := e.client.Query(ctx, "ORD_UNKNOWN"); !errors.Is(err, pay.ErrOrderNotFound) {
		t.Fatalf("query unknown: %v", err)
	}
	if err := e.client.Close(ctx, "ORD_UNKNOWN"); !errors.Is(err, pay.ErrOrderNotFound) {
		t.Fatalf("close unknown: %v", err)
	}
	for name, r := range map[string]pay.PrepayRequest{
		"short out_trade_no": {OutTradeNo: "12345", Description: "x", Total: 1, PayerOpenID: "o"},
		"zero total":         {OutTradeNo: "ORD202400003", Description: "x", Total: 0, PayerOpenID: "o"},
		"long description":   {OutTradeNo: "ORD202400003", Description: strings.Repeat("长", 43), Total: 1, PayerOpenID: "o"},
		"no openid":          {OutTradeNo: "ORD202400003", Description: "x", Total: 1},
	} {
		if _, err := e.client.Prepay(ctx, r); !errors.Is(err, pay.ErrRequestInvalid) || apperr.CodeOf(err) != "invalid_request" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A time_expire under a minute ahead is WeChat Pay's to raise to a
	// minute (WECHAT-PROTOCOLS.md §1.6), not ours to refuse.
	soon := pay.PrepayRequest{OutTradeNo: "ORD202400005", Description: "x", Total: 1, PayerOpenID: "o", TimeExpire: time.Now().Add(30 * time.Second)}
	if id, err := e.client.Prepay(ctx, soon); err != nil || id == "" {
		t.Errorf("expiring in 30s: %q, %v", id, err)
	}
}

func TestUpstreamFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Nothing listens there.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c := e.newClient(t, func(c *pay.Config) { c.BaseURL = dead.URL })
	if _, err := c.Query(ctx, "ORD202400004"); !errors.Is(err, pay.ErrUnavailable) || apperr.KindOf(err) != apperr.Upstream {
		t.Fatalf("connection refused: %v", err)
	}
	// A 500 from WeChat Pay.
	boom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, `{"code":"SYSTEM_ERROR","message":"系统异常"}`)
	}))
	defer boom.Close()
	c = e.newClient(t, func(c *pay.Config) { c.BaseURL = boom.URL })
	if _, err := c.Query(ctx, "ORD202400004"); !errors.Is(err, pay.ErrUnavailable) {
		t.Fatalf("500: %v", err)
	}
	// A response signed by another key: the client must not trust it.
	c = e.newClient(t, func(c *pay.Config) { c.PublicKey = &e.other.PublicKey })
	if _, err := c.Prepay(ctx, pay.PrepayRequest{OutTradeNo: "ORD202400004", Description: "x", Total: 1, PayerOpenID: "o"}); !errors.Is(err, pay.ErrUnavailable) {
		t.Fatalf("badly signed response: %v", err)
	}
	// The merchant signs with a key WeChat Pay does not know: SIGN_ERROR.
	c = e.newClient(t, func(c *pay.Config) { c.PrivateKey = e.other })
	var api *pay.APIError
	if _, err := c.Query(ctx, "ORD202400004"); !errors.Is(err, pay.ErrRejected) || !errors.As(err, &api) || api.Code != "SIGN_ERROR" {
		t.Fatalf("bad merchant signature: %v", err)
	}
}

func TestRefundFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.prepay(t, "ORD202400005", 1000)
	if _, err := e.client.Refund(ctx, pay.RefundRequest{OutTradeNo: "ORD202400005", OutRefundNo: "RF1", Refund: 300, Total: 1000}); !errors.Is(err, pay.ErrRejected) {
		t.Fatalf("refund of an unpaid order: %v", err)
	}
	e.emu.Pay(ctx, "ORD202400005")
	paid := e.next(t)

	r, err := e.client.Refund(ctx, pay.RefundRequest{OutTradeNo: "ORD202400005", OutRefundNo: "RF1", Reason: "退货", Refund: 300, Total: 1000})
	if err != nil || r.Status != pay.RefundProcessing || r.RefundID == "" || r.Amount.Refund != 300 ||
		r.TransactionID != paid.Transaction.TransactionID || r.CreateTime.IsZero() {
		t.Fatalf("refund: %+v %v", r, err)
	}
	n := e.next(t)
	if n.EventType != "REFUND.SUCCESS" || n.Refund == nil || n.Transaction != nil || n.Refund.Status != pay.RefundSuccess ||
		n.Refund.OutRefundNo != "RF1" || n.Refund.RefundID != r.RefundID || n.Refund.Amount.Refund != 300 ||
		n.Refund.Amount.Total != 1000 || n.Refund.SuccessTime.IsZero() || n.Refund.OutTradeNo != "ORD202400005" {
		t.Fatalf("refund notify: %+v %+v", n, n.Refund)
	}
	q, err := e.client.QueryRefund(ctx, "RF1")
	if err != nil || q.Status != pay.RefundSuccess || q.SuccessTime.IsZero() {
		t.Fatalf("refund query: %+v %v", q, err)
	}
	if _, err := e.client.Refund(ctx, pay.RefundRequest{TransactionID: paid.Transaction.TransactionID, OutRefundNo: "RF2", Refund: 701, Total: 1000}); !errors.Is(err, pay.ErrRejected) {
		t.Fatalf("refund over the remainder: %v", err)
	}
	if _, err := e.client.QueryRefund(ctx, "RF_UNKNOWN"); !errors.Is(err, pay.ErrRefundNotFound) {
		t.Fatalf("unknown refund: %v", err)
	}
	if _, err := e.client.Refund(ctx, pay.RefundRequest{OutTradeNo: "ORD_UNKNOWN", OutRefundNo: "RF3", Refund: 1, Total: 1}); !errors.Is(err, pay.ErrOrderNotFound) {
		t.Fatalf("refund of an unknown order: %v", err)
	}
	if tx, _ := e.client.Query(ctx, "ORD202400005"); tx.TradeState != pay.StateRefund || !tx.Paid() {
		t.Fatalf("order after refund: %+v", tx)
	}
}

func TestNotifyRetriedUntilAccepted(t *testing.T) {
	e := newEnv(t)
	e.failFirst = 2
	e.prepay(t, "ORD202400006", 1)
	e.emu.Pay(context.Background(), "ORD202400006")
	ids := map[string]bool{}
	for range 3 {
		ids[e.next(t).ID] = true
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := e.emu.Notifies()
		if len(ds) == 1 && ds[0].Done {
			if len(ds[0].Attempts) != 3 || !ds[0].Delivered {
				t.Fatalf("delivery: %+v", ds[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done: %+v", ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(ids) != 1 {
		t.Fatalf("retries carry one notify id, got %v", ids)
	}
}

// signWith signs body as WeChat Pay does, with key, at ts.
func signWith(key *rsa.PrivateKey, body []byte, ts time.Time, serial string) http.Header {
	stamp, nonce := strconv.FormatInt(ts.Unix(), 10), "fdasflkja484w"
	sum := sha256.Sum256([]byte(stamp + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", stamp)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	return h
}

func TestParseNotifyRefuses(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	resource := map[string]any{"appid": appID, "mchid": mchID, "out_trade_no": "ORD202400007", "transaction_id": "4200000001",
		"trade_state": "SUCCESS", "amount": map[string]any{"total": 1, "payer_total": 1, "currency": "CNY"}}
	h, body, err := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", resource, now)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.client.ParseNotify(h, body); err != nil || n.Transaction.OutTradeNo != "ORD202400007" {
		t.Fatalf("the genuine notify: %+v %v", n, err)
	}
	other := map[string]any{}
	for k, v := range resource {
		other[k] = v
	}
	other["mchid"] = "1900000999"
	hOther, bodyOther, _ := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", other, now)
	hOld, bodyOld, _ := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", resource, now.Add(-6*time.Minute))
	hNew, bodyNew, _ := e.emu.SignedNotify(mchID, "TRANSACTION.SUCCESS", resource, now.Add(6*time.Minute))
	tampered := []byte(strings.Replace(string(body), `"TRANSACTION.SUCCESS"`, `"TRANSACTION.SUCCESS" `, 1))
	notJSON := []byte("not json")
	without := func(name string) http.Header {
		c := h.Clone()
		c.Del(name)
		return c
	}
	wrongKeyClient := e.newClient(t, func(c *pay.Config) { c.APIv3Key = "another0apiv3key0000000000000000" })

	for name, tc := range map[string]struct {
		client *pay.Client
		h      http.Header
		body   []byte
		want   error
	}{
		"tampered body":         {e.client, h, tampered, pay.ErrInvalidSignature},
		"signed by another key": {e.client, signWith(e.other, body, now, keyID), body, pay.ErrInvalidSignature},
		"wrong serial":          {e.client, signWith(e.platform, body, now, "PUB_KEY_ID_0000OTHER"), body, pay.ErrUnknownSerial},
		"6 minutes old":         {e.client, hOld, bodyOld, pay.ErrStaleNotify},
		"6 minutes ahead":       {e.client, hNew, bodyNew, pay.ErrStaleNotify},
		"wrong APIv3 key":       {wrongKeyClient, h, body, pay.ErrUndecryptable},
		"no signature":          {e.client, without("Wechatpay-Signature"), body, pay.ErrInvalidSignature},
		"no timestamp":          {e.client, without("Wechatpay-Timestamp"), body, pay.ErrInvalidSignature},
		"signed, but not JSON":  {e.client, signWith(e.platform, notJSON, now, keyID), notJSON, pay.ErrInvalidNotify},
		"for another merchant":  {e.client, hOther, bodyOther, pay.ErrInvalidNotify},
		"signature not base64":  {e.client, func() http.Header { c := h.Clone(); c.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/abc"); return c }(), body, pay.ErrInvalidSignature},
		"unsupported sign type": {e.client, func() http.Header {
			c := h.Clone()
			c.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
			return c
		}(), body, pay.ErrInvalidSignature},
		"empty body, valid sign": {e.client, signWith(e.platform, nil, now, keyID), nil, pay.ErrInvalidNotify},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.client.ParseNotify(tc.h, tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), apiV3Key) {
				t.Fatal("the APIv3 key leaked into an error")
			}
		})
	}
}

func TestLoadKeysAndConfig(t *testing.T) {
	pemText, err := os.ReadFile(fixtures + "merchant_private_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	fromText, err := pay.LoadPrivateKey(string(pemText))
	if err != nil {
		t.Fatal(err)
	}
	escaped := strings.ReplaceAll(strings.TrimSpace(string(pemText)), "\n", `\n`)
	fromEscaped, err := pay.LoadPrivateKey(escaped)
	if err != nil || !fromEscaped.Equal(fromText) {
		t.Fatalf("escaped newlines: %v", err)
	}
	if !mustKey(t, "merchant_private_key.pem").Equal(fromText) {
		t.Fatal("path and text disagree")
	}
	pub, err := pay.LoadPublicKey(fixtures + "merchant_public_key.pem")
	if err != nil || !pub.Equal(&fromText.PublicKey) {
		t.Fatalf("public key: %v", err)
	}
	body := strings.Join(strings.Split(string(pemText), "\n")[1:5], "")
	for _, bad := range []string{"", body, "/nonexistent/key.pem", "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----"} {
		_, err := pay.LoadPrivateKey(bad)
		if err == nil || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Fatalf("LoadPrivateKey(%.20q) = %v", bad, err)
		}
	}
	if _, err := pay.LoadPublicKey(string(pemText)); err == nil {
		t.Fatal("a private key was accepted as a public key")
	}

	e := newEnv(t)
	for name, edit := range map[string]func(*pay.Config){
		"no mchid":          func(c *pay.Config) { c.MchID = "" },
		"short APIv3 key":   func(c *pay.Config) { c.APIv3Key = "short" },
		"base URL path":     func(c *pay.Config) { c.BaseURL = "http://127.0.0.1:1/pay" },
		"notify URL query":  func(c *pay.Config) { c.NotifyURL = "https://x.example/n?a=1" },
		"no public key":     func(c *pay.Config) { c.PublicKey = nil },
		"no private key":    func(c *pay.Config) { c.PrivateKey = nil },
		"no public key id":  func(c *pay.Config) { c.PublicKeyID = "" },
		"relative base URL": func(c *pay.Config) { c.BaseURL = "127.0.0.1:8080" },
	} {
		cfg := e.cfg
		edit(&cfg)
		_, err := pay.New(cfg)
		if err == nil || strings.Contains(err.Error(), apiV3Key) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
