package functions_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"image"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions"
	"github.com/minifn/minifn/shared/functions/accountfn"
	"github.com/minifn/minifn/shared/functions/couponfn"
	"github.com/minifn/minifn/shared/functions/engagefn"
	"github.com/minifn/minifn/shared/functions/orderfn"
	"github.com/minifn/minifn/shared/functions/productfn"
	"github.com/minifn/minifn/shared/httpapi"
	payemu "github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

const (
	engAppID   = "wxengagetest00001"
	engSecret  = "engage-test-secret-0123456789"
	engAdmin   = "admin-token-for-engage-tests-0123"
	engMchID   = "1900000001"
	engSerial  = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	engAPIv3   = "0123456789abcdefghijklmnopqrstuv"
	engTmpl    = "TMPL_engage_paid_0001"
	engWxaPath = "/wxa/getwxacodeunlimit"
)

// engKey is the emulated merchant's key: slow to make, so made once.
var engKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// engEnv serves the engagement functions (and login, me, products, orders,
// coupon claims and the pay notify they work with) exactly as their Specs build
// them, on 127.0.0.1, over one real store, with the WeChat and WeChat Pay
// emulators on their own loopback servers.
type engEnv struct {
	t      *testing.T
	clock  *storetest.Clock
	app    *app.App
	srv    *httptest.Server // minifn
	emuURL string           // the WeChat emulator
	wx     *emulator.Emulator
	pay    *payemu.Emulator
}

// engEach runs f on every store backend. The whole configuration is
// injected (no environment): the engagement settings of these tests, and
// the production default rate limits, so that claims and orders pass the
// limiter as deployed.
func engEach(t *testing.T, f func(t *testing.T, e *engEnv)) {
	engEachWith(t, nil, f)
}

// engEachWith is engEach with edit applied to the Config before app.Open
// (risk control, in risk_test.go).
func engEachWith(t *testing.T, edit func(*app.Config), f func(t *testing.T, e *engEnv)) {
	var limits app.RateLimits
	for _, rl := range []struct {
		to   *ratelimit.Rules
		from string
	}{{&limits.RateLogin, "openid=10/1m,ip=300/1m"}, {&limits.RateClaim, "openid=30/1m,ip=1200/1m"}, {&limits.RateOrder, "openid=20/1m,ip=600/1m"},
		{&limits.RateBooking, "openid=10/1m,ip=600/1m"}} {
		var err error
		if *rl.to, err = ratelimit.ParseRules(rl.from); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			// Real time: the Pay SDK signs with it, and the emulator allows
			// five minutes of skew.
			e := &engEnv{t: t, clock: storetest.NewClock(time.Now().Truncate(time.Second))}
			st := b.Open(t, e.clock.Now)

			var api http.Handler
			e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeHTTP(w, r) }))
			t.Cleanup(e.srv.Close)

			e.wx = emulator.New(emulator.Options{Now: e.clock.Now, Apps: map[string]emulator.App{engAppID: {Secret: engSecret}}})
			wxSrv := httptest.NewServer(e.wx.Handler())
			t.Cleanup(wxSrv.Close)
			e.emuURL = wxSrv.URL

			key := engKey()
			var err error
			e.pay, err = payemu.New(payemu.Options{Now: e.clock.Now, RetryDivisor: 1000, Merchants: map[string]payemu.Merchant{
				engMchID: {PublicKey: &key.PublicKey, CertSerial: engSerial, APIv3Key: engAPIv3},
			}})
			if err != nil {
				t.Fatal(err)
			}
			paySrv := httptest.NewServer(e.pay.Handler())
			t.Cleanup(func() { e.pay.Close(); paySrv.Close() })
			pub, pubID := e.pay.PublicKey()
			privDER, _ := x509.MarshalPKCS8PrivateKey(key)
			pubDER, _ := x509.MarshalPKIXPublicKey(pub)

			cfg := app.Config{
				WechatAppid: engAppID, WechatSecret: engSecret, WechatAPIBase: wxSrv.URL,
				SessionSecret: app.Secret(strings.Repeat("s", 32)), SessionTTL: 2 * time.Hour, AdminToken: engAdmin,
				PayMchid: engMchID, PayCertSerial: engSerial, PayApiv3Key: engAPIv3,
				PayPrivateKey:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
				PayPublicKeyID: pubID, PayPublicKey: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
				PayAPIBase: paySrv.URL, PayNotifyURL: e.srv.URL + "/pay/notify", OrderTTL: 15 * time.Minute,
				RateLimits: limits,
				Engage:     app.Engage{QrcodeUserLimit: 2, PointsPerYuan: 2, SubscribePaidTemplate: engTmpl},
			}
			if edit != nil {
				edit(&cfg)
			}
			if e.app, err = app.Open(context.Background(), cfg, app.Options{Store: st, Now: e.clock.Now}); err != nil {
				t.Fatal(err)
			}
			rt := httpapi.NewRouter()
			for _, spec := range []functions.Spec{engagefn.QRCode, engagefn.Points, accountfn.Login, accountfn.Me,
				productfn.Products, orderfn.OrderCreate, orderfn.Orders, orderfn.PayNotify,
				couponfn.Campaigns, couponfn.CouponClaim, couponfn.Coupons} {
				fn, err := spec.Build(e.app)
				if err != nil {
					t.Fatalf("build %s: %v", spec.Name, err)
				}
				for _, route := range spec.Routes {
					rt.Handle(route, fn.Handler)
				}
			}
			api = rt
			f(t, e)
		})
	}
}

// engUser is a test user logged in through POST /login.
type engUser struct {
	name, openid, token string
}

// login gets a login code from the emulator's control API, as the dev tool
// prints, and trades it at POST /login with the extra fields (scene,
// referrer).
func (e *engEnv) login(name string, extra map[string]any) engUser {
	e.t.Helper()
	res, err := http.Post(e.emuURL+"/_emulator/login-code", "application/json", strings.NewReader(`{"user":"`+name+`"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	var code struct{ Code, OpenID string }
	json.NewDecoder(res.Body).Decode(&code)
	res.Body.Close()
	body := map[string]any{"code": code.Code}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("", "POST", "/login", body)
	var out struct{ Token, OpenID string }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil || out.OpenID != code.OpenID {
		e.t.Fatalf("login %s: %d %s", name, r.status, r.body)
	}
	return engUser{name: name, openid: out.OpenID, token: out.Token}
}

// engReply is an answer of the API.
type engReply struct {
	status int
	header http.Header
	body   []byte
}

func (r engReply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %q", r.status, r.body)
	}
	return m
}

// want checks an error answer: status, code, and (if given) words its
// message must hold, such as the field a 400 names.
func (r engReply) want(t *testing.T, what string, status int, code string, words ...string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	if r.status != status || e.Error.Code != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
	for _, w := range words {
		if !strings.Contains(e.Error.Message, w) {
			t.Errorf("%s: message %q does not name %q", what, e.Error.Message, w)
		}
	}
}

// do sends a request with token ("" for none; engAdmin for the admin). A
// string body is sent as is.
func (e *engEnv) do(token, method, path string, body any, header ...string) engReply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return engReply{res.StatusCode, res.Header, b}
}

// waitNotifies waits until every notify of outTradeNo is finished.
func (e *engEnv) waitNotifies(outTradeNo string, n int) []payemu.Delivery {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var found []payemu.Delivery
		done := true
		for _, d := range e.pay.Notifies() {
			if d.OutTradeNo == outTradeNo && d.EventType == "TRANSACTION.SUCCESS" {
				found = append(found, d)
				done = done && (d.Delivered || d.Done)
			}
		}
		if len(found) >= n && done {
			return found
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("notifies of %s not finished: %+v", outTradeNo, found)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// qrText decodes the QR code of a PNG with gozxing.
func qrText(t *testing.T, png []byte) string {
	t.Helper()
	m, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatalf("not an image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		t.Fatal(err)
	}
	// PURE_BARCODE: the image is a code and nothing else. Without it the
	// detector misses about one generated code in fourteen.
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("not a readable QR code: %v", err)
	}
	return res.GetText()
}

// decodeJSON reads an answer's body into v.
func decodeJSON(t *testing.T, r engReply, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("not JSON (%d): %q", r.status, r.body)
	}
}

// wantJSON checks an answer's status and that its body is the JSON want
// (same fields and values, in any order).
func (e *engEnv) wantJSON(r engReply, status int, want string) {
	e.t.Helper()
	var got, w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		e.t.Fatal(err)
	}
	json.Unmarshal(r.body, &got)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if r.status != status || string(gb) != string(wb) {
		e.t.Fatalf("%d %s, want %d %s", r.status, r.body, status, want)
	}
}

// reward creates a reward as the admin and returns its id.
func (e *engEnv) reward(in map[string]any) string {
	e.t.Helper()
	r := e.do(engAdmin, "POST", "/rewards", in)
	var out struct {
		Reward struct{ ID string }
	}
	decodeJSON(e.t, r, &out)
	if r.status != http.StatusCreated || out.Reward.ID == "" {
		e.t.Fatalf("reward: %d %s", r.status, r.body)
	}
	return out.Reward.ID
}
