package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/gif"  // decodes what the WeChat emulator returns for /qrcode
	_ "image/jpeg" // likewise
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

// The golden responses: TestGolden drives the server of `minifn dev` (every
// function, the WeChat and WeChat Pay emulators, a bolt store in a temp
// dir) through one scripted scenario that calls every route of the
// contract, and compares what each step answered (status, a few headers,
// the JSON body) with testdata/golden/<group>.golden. Renaming or dropping
// a JSON field, changing a status or an error code fails it.
//
// Volatile values are replaced by placeholders that keep their kind and
// identity: the same order id is <id:3> wherever it appears (bodies, paths,
// messages), times are <time>, tokens <token:1>, and so on. Everything else
// (field names, money, statuses, counts, error codes) is kept as is.
//
// After an intended change of a response, regenerate the files with
//
//	go test ./cmd/minifn -run Golden -update
//
// and read the diff (JSON pretty-printed, keys sorted) before committing.
var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from this run (see golden_test.go)")

const goldenDir = "testdata/golden"

// goldenStep is one request of the scenario and what it answered.
type goldenStep struct {
	group, name  string
	method, path string // path as requested (placeholders applied when written)
	reqBody      string
	status       int
	header       http.Header
	body         any    // decoded JSON (json.Number for numbers), nil for none
	note         string // for a non-JSON body: what it is
	rawRoutePath string // the real path, for the route coverage check
}

// goldenRun is the scenario's client: it records every step.
type goldenRun struct {
	t     *testing.T
	base  string
	d     *dev
	group string
	steps []*goldenStep
}

type goldenReq struct {
	token  string
	body   string
	header map[string]string
}

// do sends one request and records it (under name) in the current group.
func (g *goldenRun) do(name, method, path string, r goldenReq) *goldenStep {
	g.t.Helper()
	res, raw := g.send(method, path, r)
	s := &goldenStep{group: g.group, name: name, method: method, path: path, reqBody: r.body,
		status: res.StatusCode, header: res.Header, rawRoutePath: path}
	ct := res.Header.Get("Content-Type")
	switch {
	case len(raw) == 0:
	case strings.HasPrefix(ct, "application/json"):
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&s.body); err != nil {
			g.t.Fatalf("%s: %s %s: answer is not JSON: %q", name, method, path, raw)
		}
	case strings.HasPrefix(ct, "image/"):
		img, format, err := image.Decode(bytes.NewReader(raw))
		if err != nil {
			g.t.Fatalf("%s: %s %s: a %s body that does not decode: %v", name, method, path, ct, err)
		}
		s.note = fmt.Sprintf("a %s image, %dx%d", format, img.Bounds().Dx(), img.Bounds().Dy())
	default:
		s.note = fmt.Sprintf("%d bytes", len(raw))
	}
	g.steps = append(g.steps, s)
	// Ids sort by the millisecond they were made in, and lists are newest
	// first by id: two made in the same millisecond would list in a random
	// order. One step a millisecond or more apart keeps the lists stable.
	time.Sleep(2 * time.Millisecond)
	return s
}

// send sends a request and returns the answer with its body read; it does
// not record it (for the emulators' control routes and for polling).
func (g *goldenRun) send(method, path string, r goldenReq) (*http.Response, []byte) {
	g.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(method, g.base+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	return res, raw
}

// must checks a step's status and returns its body as an object.
func (s *goldenStep) must(t *testing.T, status int) map[string]any {
	t.Helper()
	if s.status != status {
		t.Fatalf("%s: %s %s answered %d, want %d: %v %s", s.name, s.method, s.path, s.status, status, s.body, s.note)
	}
	m, _ := s.body.(map[string]any)
	return m
}

// str walks an object by keys and returns the string there.
func str(t *testing.T, v any, keys ...string) string {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no object at %q in %v", k, v)
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("no string at %v: %v", keys, v)
	}
	return s
}

// TestGolden runs the scenario and compares (or, with -update, writes) the
// golden files.
func TestGolden(t *testing.T) {
	cleanEnv(t)
	t.Setenv("MINIFN_WALLET", "on") // the wallet's records are pinned too (docs/wallet.md)
	hold := &notifyGate{}
	logs := captureRequestLogs(t)
	base, d := startGoldenDev(t, t.TempDir(), hold, logs.wrap)
	if d.Emu == nil || !d.Emu.wechatOn || !d.Emu.payOn {
		t.Fatal("dev runs without its emulators")
	}
	admin := string(d.App.Config.AdminToken)
	g := &goldenRun{t: t, base: base, d: d}

	// --- accounts: login, me, me/phone
	g.group = "accounts"
	loginAs := func(user string) (token, openid string) {
		res, raw := g.send("POST", "/_emulator/login-code", goldenReq{body: `{"user":"` + user + `"}`})
		var c struct{ Code, OpenID string }
		if json.Unmarshal(raw, &c); res.StatusCode != 200 || c.Code == "" {
			t.Fatalf("login-code: %d %s", res.StatusCode, raw)
		}
		a := g.do("login "+user, "POST", "/login", goldenReq{body: `{"code":"` + c.Code + `"}`}).must(t, 200)
		return str(t, a, "token"), str(t, a, "openid")
	}
	alice, aliceID := loginAs("alice")
	bob, bobID := loginAs("bob")
	g.do("me", "GET", "/me", goldenReq{token: alice}).must(t, 200)
	phoneCode, _ := d.Emu.wechat.MintPhoneCode(d.App.Config.WechatAppid, "alice")
	g.do("bind the phone number", "POST", "/me/phone", goldenReq{token: alice, body: `{"code":"` + phoneCode + `"}`}).must(t, 200)

	// --- products (admin), campaigns (admin), claim, coupons, qr, redeem, staff
	g.group = "products"
	g.do("create a product", "POST", "/products", goldenReq{token: admin, header: map[string]string{"Idempotency-Key": "p1"},
		body: `{"sku":"latte","title":"Latte","price":2800,"stock":10}`}).must(t, 201)
	g.do("create a product without stock", "POST", "/products", goldenReq{token: admin,
		body: `{"sku":"cookie","title":"Cookie","price":600}`}).must(t, 201)
	g.do("list products", "GET", "/products", goldenReq{token: alice}).must(t, 200)

	g.group = "coupons"
	campBody := `{"title":"5 yuan off","discount":{"amount_off":500},"min_spend":1000,"stock":100,"valid_days":30}`
	camp := g.do("create a campaign", "POST", "/campaigns", goldenReq{token: admin, body: campBody,
		header: map[string]string{"Idempotency-Key": "c1"}}).must(t, 201)
	campID := str(t, camp, "campaign", "id")
	g.do("create a campaign again, same key", "POST", "/campaigns", goldenReq{token: admin, body: campBody,
		header: map[string]string{"Idempotency-Key": "c1"}}).must(t, 201)
	counter := g.do("create a percent-off campaign", "POST", "/campaigns", goldenReq{token: admin,
		body: `{"title":"20% off","discount":{"percent_off":20,"max_off":1000},"stock":5,"per_user_limit":2,"valid_days":7}`}).must(t, 201)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	g.do("create a campaign with absolute validity", "POST", "/campaigns", goldenReq{token: admin,
		body: `{"title":"Weekend","description":"Saturday and Sunday","discount":{"amount_off":300},"stock":10,` +
			`"claim_ends_at":"` + until.Add(-time.Hour).Format(time.RFC3339) + `","valid_from":"` +
			until.Add(-24*time.Hour).Format(time.RFC3339) + `","valid_until":"` + until.Format(time.RFC3339) + `"}`}).must(t, 201)
	g.do("list active campaigns", "GET", "/campaigns", goldenReq{token: alice}).must(t, 200)
	claim := g.do("claim a coupon", "POST", "/coupons/claim", goldenReq{token: alice, body: `{"campaign_id":"` + campID + `"}`,
		header: map[string]string{"Idempotency-Key": "k1"}}).must(t, 201)
	couponID := str(t, claim, "coupon", "id")
	g.do("claim again, same key", "POST", "/coupons/claim", goldenReq{token: alice, body: `{"campaign_id":"` + campID + `"}`,
		header: map[string]string{"Idempotency-Key": "k1"}}).must(t, 201)
	g.do("claim again, another key: over the per-user limit", "POST", "/coupons/claim", goldenReq{token: alice,
		body: `{"campaign_id":"` + campID + `"}`, header: map[string]string{"Idempotency-Key": "k2"}}).must(t, 409)
	atCounter := g.do("claim a coupon to use at the counter", "POST", "/coupons/claim", goldenReq{token: alice,
		body: `{"campaign_id":"` + str(t, counter, "campaign", "id") + `"}`}).must(t, 201)
	g.do("list my coupons", "GET", "/coupons", goldenReq{token: alice}).must(t, 200)
	qr := g.do("a coupon's QR code", "GET", "/coupons/"+couponID+"/qr", goldenReq{token: alice})
	qr.must(t, 200)
	qr.note = "a QR code that reads " + decodeQR(t, g, "/coupons/"+couponID+"/qr", alice)
	code := str(t, atCounter, "coupon", "code")
	g.do("redeem, not staff", "POST", "/coupons/redeem", goldenReq{token: bob, body: `{"code":"` + code + `"}`}).must(t, 403)
	g.do("grant the staff role", "PUT", "/staff/"+bobID, goldenReq{token: admin}).must(t, 200)
	g.do("redeem at the counter", "POST", "/coupons/redeem", goldenReq{token: bob, body: `{"code":"` + code + `"}`}).must(t, 200)
	g.do("redeem twice", "POST", "/coupons/redeem", goldenReq{token: bob, body: `{"code":"` + code + `"}`}).must(t, 409)
	g.do("revoke the staff role", "DELETE", "/staff/"+bobID, goldenReq{token: admin}).must(t, 204)

	// --- orders: create with a coupon, pay (emulator, then notify), list, cancel, refund
	g.group = "orders"
	created := g.do("create an order with a coupon", "POST", "/orders", goldenReq{token: alice,
		header: map[string]string{"Idempotency-Key": "o1"},
		body:   `{"items":[{"sku":"latte","quantity":2}],"coupon_id":"` + couponID + `"}`}).must(t, 201)
	orderID, tradeNo := str(t, created, "order", "id"), str(t, created, "order", "out_trade_no")
	g.do("create again, same key", "POST", "/orders", goldenReq{token: alice, header: map[string]string{"Idempotency-Key": "o1"},
		body: `{"items":[{"sku":"latte","quantity":2}],"coupon_id":"` + couponID + `"}`}).must(t, 201)
	g.do("get the pending order", "GET", "/orders/"+orderID, goldenReq{token: alice}).must(t, 200)
	// "The user pays now": the emulator marks it paid and delivers its notify.
	if res, raw := g.send("POST", "/_emulator/pay/"+tradeNo, goldenReq{}); res.StatusCode != 200 {
		t.Fatalf("emulator pay: %d %s", res.StatusCode, raw)
	}
	waitDelivered(t, d, tradeNo, "TRANSACTION.SUCCESS")
	// The paid order's shipping is uploaded, and WeChat's settlement push
	// (sent in the background) records when it will settle: wait for it.
	waitPushAnswered(t, g, "trade_manage_order_settlement")
	paid := g.do("get the paid order", "GET", "/orders/"+orderID, goldenReq{token: alice}).must(t, 200)

	g.group = "pay"
	tx := map[string]any{
		"appid": d.App.Config.WechatAppid, "mchid": devMchID, "out_trade_no": tradeNo,
		"transaction_id": str(t, paid, "order", "transaction_id"), "trade_type": "JSAPI", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "success_time": time.Now().Format(time.RFC3339),
		"payer":  map[string]any{"openid": "o"},
		"amount": map[string]any{"total": 5100, "payer_total": 5100, "currency": "CNY", "payer_currency": "CNY"},
	}
	g.notify("WeChat Pay sends the notify again", tx).must(t, 204)
	tx["amount"] = map[string]any{"total": 1, "payer_total": 1, "currency": "CNY", "payer_currency": "CNY"}
	g.notify("a signed notify with another amount", tx).must(t, 400)
	bad := g.do("a notify with a bad signature", "POST", "/pay/notify", goldenReq{body: `{}`, header: map[string]string{
		"Wechatpay-Serial": "x", "Wechatpay-Timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"Wechatpay-Nonce": "n", "Wechatpay-Signature": "c2ln"}})
	bad.must(t, 401)

	g.group = "orders"
	other := g.do("create an order to cancel", "POST", "/orders", goldenReq{token: alice,
		body: `{"items":[{"sku":"cookie","quantity":1}]}`}).must(t, 201)
	otherID := str(t, other, "order", "id")
	g.do("cancel it", "POST", "/orders/"+otherID+"/cancel", goldenReq{token: alice}).must(t, 200)
	g.do("cancel the paid order", "POST", "/orders/"+orderID+"/cancel", goldenReq{token: alice}).must(t, 409)
	g.do("list my orders", "GET", "/orders", goldenReq{token: alice}).must(t, 200)
	page := g.do("list my orders, one a page", "GET", "/orders?limit=1", goldenReq{token: alice}).must(t, 200)
	g.do("the next page", "GET", "/orders?limit=1&after="+url.QueryEscape(str(t, page, "next")), goldenReq{token: alice}).must(t, 200)
	g.do("another user's order", "GET", "/orders/"+orderID, goldenReq{token: bob}).must(t, 404)

	// --- engage: points and rewards, Mini-Program codes and scenes
	g.group = "points"
	codes := g.do("make points codes", "POST", "/points/codes", goldenReq{token: admin, body: `{"points":50,"count":2}`}).must(t, 201)
	list, _ := codes["codes"].([]any)
	if len(list) != 2 {
		t.Fatalf("codes: %v", codes)
	}
	g.do("scan a points code", "POST", "/points/scan", goldenReq{token: alice, body: `{"code":"` + list[0].(string) + `"}`}).must(t, 200)
	g.do("scan it again", "POST", "/points/scan", goldenReq{token: alice, body: `{"code":"` + list[0].(string) + `"}`}).must(t, 409)
	reward := g.do("create a reward", "POST", "/rewards", goldenReq{token: admin, body: `{"title":"Free cookie","points":60,"stock":3}`}).must(t, 201)
	g.do("list rewards", "GET", "/rewards", goldenReq{token: alice}).must(t, 200)
	g.do("redeem a reward", "POST", "/points/redeem", goldenReq{token: alice, body: `{"reward_id":"` + str(t, reward, "reward", "id") + `"}`}).must(t, 201)
	g.do("my points", "GET", "/points", goldenReq{token: alice}).must(t, 200)

	g.group = "qrcode"
	qc := g.do("a Mini-Program code", "POST", "/qrcode", goldenReq{token: alice, body: `{"page":"pages/product/index","params":{"sku":"latte"}}`})
	qc.must(t, 200)
	sc := qc.header.Get("X-Minifn-Scene")
	if sc == "" {
		t.Fatal("no X-Minifn-Scene")
	}
	g.do("the scene behind it", "GET", "/scenes/"+sc, goldenReq{}).must(t, 200)
	g.do("an unknown scene", "GET", "/scenes/nope", goldenReq{}).must(t, 404)

	// A refund: the emulator succeeds it at once and sends REFUND.SUCCESS,
	// held at the door until the refund has answered, so that the answer
	// always shows the refund processing.
	g.group = "orders"
	hold.close()
	g.do("refund the paid order", "POST", "/orders/"+orderID+"/refund", goldenReq{token: admin,
		body: `{"amount":1000,"reason":"one latte was cold"}`, header: map[string]string{"Idempotency-Key": "r1"}}).must(t, 200)
	hold.open()
	waitDelivered(t, d, tradeNo, "REFUND.SUCCESS")
	g.do("get the partly refunded order", "GET", "/orders/"+orderID, goldenReq{token: alice}).must(t, 200)

	// --- the wallet: a plan, a top-up paid at the emulator, its notify
	// (dispatched to the wallet by out_trade_no), the balance
	g.group = "wallet"
	plan := g.do("create a top-up plan", "POST", "/topup-plans", goldenReq{token: admin, body: `{"amount":1000,"bonus":200}`}).must(t, 201)
	topUp := g.do("top up by the plan", "POST", "/wallet/topup", goldenReq{token: alice,
		body: `{"plan_id":"` + str(t, plan, "plan", "id") + `"}`}).must(t, 201)
	topUpNo := str(t, topUp, "topup", "out_trade_no")
	if res, raw := g.send("POST", "/_emulator/pay/"+topUpNo, goldenReq{}); res.StatusCode != 200 {
		t.Fatalf("emulator pay of the top-up: %d %s", res.StatusCode, raw)
	}
	waitDelivered(t, d, topUpNo, "TRANSACTION.SUCCESS")
	g.do("my wallet after the top-up", "GET", "/wallet", goldenReq{token: alice}).must(t, 200)

	// --- members: the merchant's tiers, alice's tier and growth (her paid
	// order less its refund)
	g.group = "members"
	g.do("set the tiers", "PUT", "/tiers", goldenReq{token: admin, body: `{"tiers":[{"id":"basic","name":"普通会员","min_growth":0},` +
		`{"id":"silver","name":"银卡","min_growth":1000,"discount_percent":5},` +
		`{"id":"gold","name":"金卡","min_growth":100000,"discount_percent":10,"points_multiplier":2}]}`}).must(t, 200)
	g.do("list the tiers", "GET", "/tiers", goldenReq{token: alice}).must(t, 200)
	g.do("my membership", "GET", "/members/me", goldenReq{token: alice}).must(t, 200)
	g.do("tiers out of order", "PUT", "/tiers", goldenReq{token: admin, body: `{"tiers":[{"id":"a","name":"a","min_growth":0},` +
		`{"id":"b","name":"b","min_growth":0}]}`}).must(t, 400)

	// --- stores: create (one closed), nearby as a user and as the admin,
	// read, edit, staff of a store, a redemption that records the store
	g.group = "stores"
	// No hours (they are the unit tests'): open_now must not depend on when
	// the test runs.
	shop := g.do("create a store", "POST", "/stores", goldenReq{token: admin, header: map[string]string{"Idempotency-Key": "s1"},
		body: `{"name":"静安店","address":"南京西路 1 号","lat":31.2304,"lng":121.4737,"phone":"021-5555 0000"}`}).must(t, 201)
	shopID := str(t, shop, "store", "id")
	g.do("create a closed store", "POST", "/stores", goldenReq{token: admin,
		body: `{"name":"Bund","address":"1 Zhongshan Rd E","lat":31.2400,"lng":121.4900,"status":"closed"}`}).must(t, 201)
	g.do("stores near me", "GET", "/stores?lat=31.2310&lng=121.4740&radius_m=3000", goldenReq{token: alice}).must(t, 200)
	g.do("stores near a point, as the admin", "GET", "/stores?lat=31.2310&lng=121.4740&radius_m=3000", goldenReq{token: admin}).must(t, 200)
	g.do("a store", "GET", "/stores/"+shopID, goldenReq{}).must(t, 200)
	g.do("edit a store", "PUT", "/stores/"+shopID, goldenReq{token: admin, body: `{"name":"静安寺店","if_version":1}`}).must(t, 200)
	g.do("edit a store from a stale version", "PUT", "/stores/"+shopID, goldenReq{token: admin, body: `{"name":"x","if_version":1}`}).must(t, 409)
	g.do("a radius too wide", "GET", "/stores?lat=31.2310&lng=121.4740&radius_m=60000", goldenReq{}).must(t, 400)
	g.do("grant the staff role at a store", "PUT", "/staff/"+bobID, goldenReq{token: admin, body: `{"store_id":"` + shopID + `"}`}).must(t, 200)
	g.do("the store's staff", "GET", "/staff?store_id="+shopID, goldenReq{token: admin}).must(t, 200)
	atShop := g.do("claim a coupon to use at the store", "POST", "/coupons/claim", goldenReq{token: alice,
		body: `{"campaign_id":"` + str(t, counter, "campaign", "id") + `"}`}).must(t, 201)
	g.do("redeem at the store's counter", "POST", "/coupons/redeem", goldenReq{token: bob,
		body: `{"code":"` + str(t, atShop, "coupon", "code") + `"}`}).must(t, 200)

	// Scan-and-go at the store: a product found by its barcode, an order
	// paid at the emulator, its exit pass verified once at the door by the
	// store's staff (bob).
	g.do("create a product with a barcode", "POST", "/products", goldenReq{token: admin,
		body: `{"sku":"soap","title":"香皂","price":500,"stock":5,"barcode":"6901234567892"}`}).must(t, 201)
	g.do("scan a barcode", "GET", "/products/barcode/6901234567892", goldenReq{token: alice}).must(t, 200)
	g.do("scan a barcode with a wrong check digit", "GET", "/products/barcode/6901234567891", goldenReq{token: alice}).must(t, 400)
	sg := g.do("a scan-and-go order", "POST", "/orders", goldenReq{token: alice, header: map[string]string{"Idempotency-Key": "sg1"},
		body: `{"items":[{"sku":"soap","quantity":2}],"store_id":"` + shopID + `","fulfillment":"scan_and_go"}`}).must(t, 201)
	sgID, sgTrade := str(t, sg, "order", "id"), str(t, sg, "order", "out_trade_no")
	g.do("an exit pass before paying", "GET", "/orders/"+sgID+"/exit-pass", goldenReq{token: alice}).must(t, 409)
	if res, raw := g.send("POST", "/_emulator/pay/"+sgTrade, goldenReq{}); res.StatusCode != 200 {
		t.Fatalf("emulator pay of the scan-and-go order: %d %s", res.StatusCode, raw)
	}
	waitDelivered(t, d, sgTrade, "TRANSACTION.SUCCESS")
	pass := g.do("the exit pass", "GET", "/orders/"+sgID+"/exit-pass", goldenReq{token: alice})
	pass.must(t, 200)
	passCode := pass.header.Get("X-Minifn-Exit-Pass")
	g.do("verify the pass, not staff", "POST", "/exit-passes/verify", goldenReq{token: alice, body: `{"code":"` + passCode + `"}`}).must(t, 403)
	g.do("verify the pass at the door", "POST", "/exit-passes/verify", goldenReq{token: bob, body: `{"code":"` + passCode + `"}`}).must(t, 200)
	g.do("verify the pass again", "POST", "/exit-passes/verify", goldenReq{token: bob, body: `{"code":"` + passCode + `"}`}).must(t, 409)

	// Table ordering: the admin makes table 12's code; alice orders from it
	// (the scene vouches for the table), pays; bob serves it from the queue.
	tableCode := g.do("a table's code", "POST", "/qrcode", goldenReq{token: admin,
		body: `{"page":"pages/table/index","params":{"store_id":"` + shopID + `","table":"12"}}`})
	tableCode.must(t, 200)
	tableScene := tableCode.header.Get("X-Minifn-Scene")
	g.do("a table order without its code", "POST", "/orders", goldenReq{token: alice,
		body: `{"items":[{"sku":"cookie","quantity":1}],"store_id":"` + shopID + `","table":"12"}`}).must(t, 403)
	tab := g.do("a table order", "POST", "/orders", goldenReq{token: alice, header: map[string]string{"Idempotency-Key": "t1"},
		body: `{"items":[{"sku":"cookie","quantity":1}],"store_id":"` + shopID + `","table":"12","scene":"` + tableScene + `"}`}).must(t, 201)
	tabID, tabTrade := str(t, tab, "order", "id"), str(t, tab, "order", "out_trade_no")
	if res, raw := g.send("POST", "/_emulator/pay/"+tabTrade, goldenReq{}); res.StatusCode != 200 {
		t.Fatalf("emulator pay of the table order: %d %s", res.StatusCode, raw)
	}
	waitDelivered(t, d, tabTrade, "TRANSACTION.SUCCESS")
	waitSettlementKnown(t, g, tabID, admin) // the serve answer shows the order, its shipping included
	g.do("the store's queue", "GET", "/stores/"+shopID+"/queue", goldenReq{token: bob}).must(t, 200)
	g.do("serve the table order", "POST", "/orders/"+tabID+"/serve", goldenReq{token: bob, body: `{"status":"served"}`}).must(t, 200)
	g.do("serve it again", "POST", "/orders/"+tabID+"/serve", goldenReq{token: bob, body: `{"status":"served"}`}).must(t, 409)
	g.do("the queue's served orders", "GET", "/stores/"+shopID+"/queue?status=served", goldenReq{token: bob}).must(t, 200)

	// --- the main errors
	g.group = "errors"
	g.do("no token", "GET", "/me", goldenReq{}).must(t, 401)
	g.do("a forged token", "GET", "/me", goldenReq{token: alice[:len(alice)-2] + "AA"}).must(t, 401)
	g.do("no token on an admin route", "POST", "/campaigns", goldenReq{body: `{"title":"x"}`}).must(t, 401)
	g.do("a user on an admin route", "POST", "/products", goldenReq{token: alice, body: `{"sku":"x","title":"x","price":1}`}).must(t, 403)
	g.do("an unknown route", "GET", "/nope", goldenReq{}).must(t, 404)
	g.do("an unknown order", "GET", "/orders/ffffffffffffffffffffffffffff", goldenReq{token: alice}).must(t, 404)
	g.do("a wrong method", "DELETE", "/me", goldenReq{token: alice}).must(t, 405)
	g.do("malformed JSON", "POST", "/login", goldenReq{body: `{"code":`}).must(t, 400)
	g.do("a missing field", "POST", "/products", goldenReq{token: admin, body: `{"sku":"x","price":1}`}).must(t, 400)
	g.do("a body over 64 KiB", "POST", "/login", goldenReq{body: `{"code":"` + strings.Repeat("a", 70<<10) + `"}`}).must(t, 413)
	g.do("not JSON", "POST", "/login", goldenReq{body: `code=x`, header: map[string]string{"Content-Type": "text/plain"}}).must(t, 415)
	g.do("an Idempotency-Key reused for another refund", "POST", "/orders/"+orderID+"/refund", goldenReq{token: admin,
		body: `{"amount":500,"reason":"one latte was cold"}`, header: map[string]string{"Idempotency-Key": "r1"}}).must(t, 422)
	g.do("a product edit from a stale version", "POST", "/products", goldenReq{token: admin,
		body: `{"sku":"latte","title":"Latte (hot)","if_version":99}`}).must(t, 409)
	g.do("a stock delta below zero", "POST", "/products", goldenReq{token: admin,
		body: `{"sku":"latte","stock_delta":-100000}`}).must(t, 409)

	checkGolden(t, g.steps)
	checkStored(t, d.App.Store, g.steps)
	checkContractRoutes(t, g.steps)
	logs.check(t, devSecrets(t, d, aliceID, bobID))
}

// notifyGate holds WeChat Pay's notifies at the door of /pay/notify while
// closed, as a slow network would.
type notifyGate struct {
	mu   sync.Mutex
	gate chan struct{} // nil: open
}

func (g *notifyGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
}

func (g *notifyGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *notifyGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pay/notify" {
			g.mu.Lock()
			gate := g.gate
			g.mu.Unlock()
			if gate != nil {
				<-gate
			}
		}
		h.ServeHTTP(w, r)
	})
}

// startGoldenDev is startDev with the notify gate in front of the server,
// and outer in front of the gate.
func startGoldenDev(t *testing.T, dir string, gate *notifyGate, outer func(http.Handler) http.Handler) (string, *dev) {
	t.Helper()
	base, d, stop := startWrappedDev(t, dir, func(h http.Handler) http.Handler { return outer(gate.wrap(h)) })
	t.Cleanup(func() { gate.open(); stop() })
	return base, d
}

// notify posts a TRANSACTION.SUCCESS notify signed by the Pay emulator's
// platform key and sealed with the dev merchant's APIv3 key, as WeChat Pay
// sends it.
func (g *goldenRun) notify(name string, resource map[string]any) *goldenStep {
	g.t.Helper()
	h, body, err := g.d.Emu.pay.SignedNotify(devMchID, "TRANSACTION.SUCCESS", resource, time.Now())
	if err != nil {
		g.t.Fatal(err)
	}
	hdr := map[string]string{}
	for k := range h {
		hdr[k] = h.Get(k)
	}
	s := g.do(name, "POST", "/pay/notify", goldenReq{body: string(body), header: hdr})
	s.reqBody = "<a signed, encrypted TRANSACTION.SUCCESS notify>"
	return s
}

// waitDelivered waits until the Pay emulator's notify of eventType for
// outTradeNo was answered 2xx by /pay/notify (the payment and its hooks are
// then stored).
func waitDelivered(t *testing.T, d *dev, outTradeNo, eventType string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range d.Emu.pay.Notifies() {
			if n.OutTradeNo == outTradeNo && n.EventType == eventType && n.Delivered {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the %s notify for %s was not delivered: %+v", eventType, outTradeNo, d.Emu.pay.Notifies())
}

// waitPushAnswered waits until the WeChat emulator's push of event was
// answered success by /wx/push.
func waitPushAnswered(t *testing.T, g *goldenRun, event string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, raw := g.send("GET", "/_emulator/pushes", goldenReq{})
		var out struct {
			Pushes []struct {
				Event, Answer string
			} `json:"pushes"`
		}
		json.Unmarshal(raw, &out)
		for _, p := range out.Pushes {
			if p.Event == event && p.Answer == "success" {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s push was answered success", event)
}

// waitSettlementKnown waits until order id's shipping was uploaded and
// WeChat's settlement push (sent in the background) recorded when it will
// settle, so that an answer showing the order does not depend on timing.
func waitSettlementKnown(t *testing.T, g *goldenRun, id, token string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, raw := g.send("GET", "/orders/"+id, goldenReq{token: token})
		var out struct {
			Order struct {
				Shipping struct {
					Settlement string `json:"estimated_settlement_at"`
				} `json:"shipping"`
			} `json:"order"`
		}
		json.Unmarshal(raw, &out)
		if out.Order.Shipping.Settlement != "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("order %s: no settlement time recorded", id)
}

// decodeQR fetches a PNG QR code and returns the text it encodes.
func decodeQR(t *testing.T, g *goldenRun, path, token string) string {
	t.Helper()
	res, raw := g.send("GET", path, goldenReq{token: token})
	if res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("%s: Content-Type %q", path, res.Header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", path, err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	r, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("%s: no QR code: %v", path, err)
	}
	return r.GetText()
}

// ---- normalisation

// normalizer replaces volatile values by placeholders that keep their kind
// and identity.
type normalizer struct {
	seen  map[string]string // volatile value → placeholder
	count map[string]int    // kind → placeholders made
}

func newNormalizer() *normalizer {
	return &normalizer{seen: map[string]string{}, count: map[string]int{}}
}

// placeholder returns v's placeholder, making a new one of kind if v is new.
func (n *normalizer) placeholder(kind, v string) string {
	if p, ok := n.seen[v]; ok {
		return p
	}
	n.count[kind]++
	p := fmt.Sprintf("<%s:%d>", kind, n.count[kind])
	n.seen[v] = p
	return p
}

var (
	wordRE    = regexp.MustCompile(`^[A-Za-z_]+$`) // error codes, "FAIL": kept
	digitsRE  = regexp.MustCompile(`^[0-9]+$`)
	errCodeRE = regexp.MustCompile(`^[a-z]+(_[a-z0-9]+)*$`) // invalid_code, rate_limited
)

// kindOf says whether the string under key (in an object under parent)
// is volatile, and of what kind ("" when it is kept). An "id" is named
// after what holds it (an order's id is <order:1>), an "x_id" after x, so
// that a new kind of id renumbers nothing else.
func kindOf(parent, key, v string) string {
	if _, err := time.Parse(time.RFC3339, v); err == nil {
		return "time"
	}
	switch key {
	case "token", "openid", "scene", "referrer", "prepay_id", "transaction_id", "refund_id", "nonceStr", "paySign",
		"request_id", "out_refund_no":
		return key
	case "next", "after":
		return "cursor"
	case "out_trade_no":
		return "order"
	case "code", "codes":
		// Kept: error codes (snake_case) and WeChat Pay's short words
		// ("FAIL"). A minted code (points, coupon, exit pass) is long and
		// may hold no digit at all.
		if errCodeRE.MatchString(v) || (wordRE.MatchString(v) && len(v) <= 10) {
			return ""
		}
		return "code"
	case "phone", "phone_number", "pure_phone_number", "masked_phone":
		return "" // the emulator's numbers depend only on the user's name
	}
	switch {
	case wordRE.MatchString(v):
		return ""
	case key == "id" && parent != "":
		if parent == "ledger" {
			return "entry"
		}
		return strings.TrimSuffix(parent, "s")
	case key == "id":
		return "id"
	case strings.HasSuffix(key, "_id"):
		return strings.TrimSuffix(key, "_id")
	}
	return ""
}

// value normalises a decoded JSON value found under key, in an object
// under parent.
func (n *normalizer) value(parent, key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		// In key order: placeholders are numbered as they are met.
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(v))
		for _, k := range keys {
			out[k] = n.value(key, k, v[k])
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = n.value(parent, key, e)
		}
		return out
	case string:
		return n.str(parent, key, v)
	}
	return v
}

func (n *normalizer) str(parent, key, v string) string {
	if v == "" {
		return v
	}
	switch k := kindOf(parent, key, v); {
	case k == "time":
		return "<time>"
	case key == "timeStamp" && digitsRE.MatchString(v):
		return "<unix time>"
	case key == "package" && strings.HasPrefix(v, "prepay_id="):
		return "prepay_id=" + n.placeholder("prepay_id", strings.TrimPrefix(v, "prepay_id="))
	case k != "":
		return n.placeholder(k, v)
	}
	return n.within(v)
}

// within replaces the volatile values already seen inside s (a path, a
// message), longest first.
func (n *normalizer) within(s string) string {
	vals := make([]string, 0, len(n.seen))
	for v := range n.seen {
		if len(v) >= 6 && !digitsRE.MatchString(v) {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool {
		if len(vals[i]) != len(vals[j]) {
			return len(vals[i]) > len(vals[j])
		}
		return vals[i] < vals[j]
	})
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, n.seen[v])
	}
	return timeInRE.ReplaceAllString(s, "<time>") // a time a message names ("let out at …")
}

var timeInRE = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)

// marshal writes v as JSON with sorted keys, indented by indent ("": on
// one line), without escaping <, > and &.
func marshal(t *testing.T, v any, indent string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// goldenHeaders are the headers the files show.
var goldenHeaders = []string{"Content-Type", "Idempotent-Replayed", "X-Minifn-Scene"}

// seeHeaderValues gives a placeholder to the volatile values a step's
// answer carries in headers only, which later requests send back: an exit
// pass's code (a base32 code may hold no digit, and would read as a word).
func seeHeaderValues(n *normalizer, s *goldenStep) {
	if v := s.header.Get("X-Minifn-Exit-Pass"); v != "" {
		n.placeholder("code", v)
	}
}

// render writes the steps of each group as text: a heading, the request,
// the status, the headers, the body. The normaliser runs over the steps in
// scenario order, so a placeholder's number is where it first appeared.
func render(t *testing.T, steps []*goldenStep) map[string]string {
	n := newNormalizer()
	files := map[string]*strings.Builder{}
	for _, s := range steps {
		// Bodies first: they name the ids that the path and the request use.
		body := n.value("", "", s.body)
		seeHeaderValues(n, s)
		var hdr []string
		for _, h := range goldenHeaders {
			if v := s.header.Get(h); v != "" {
				if h == "X-Minifn-Scene" {
					v = n.placeholder("scene", v)
				}
				hdr = append(hdr, h+": "+v)
			}
		}
		req := s.reqBody
		if len(req) > 300 {
			req = fmt.Sprintf("<%d bytes>", len(req))
		} else if req != "" && strings.HasPrefix(req, "{") {
			var v any
			d := json.NewDecoder(strings.NewReader(req))
			d.UseNumber()
			if d.Decode(&v) == nil {
				req = strings.TrimSuffix(marshal(t, n.value("", "", v), ""), "\n")
			}
		}
		b := files[s.group]
		if b == nil {
			b = &strings.Builder{}
			files[s.group] = b
		}
		fmt.Fprintf(b, "### %s\n%s %s\n", s.name, s.method, n.within(s.path))
		if req != "" {
			fmt.Fprintf(b, "request: %s\n", n.within(req))
		}
		fmt.Fprintf(b, "status: %d\n", s.status)
		for _, h := range hdr {
			fmt.Fprintln(b, h)
		}
		switch {
		case s.body != nil:
			fmt.Fprint(b, marshal(t, body, "  "))
		case s.note != "":
			fmt.Fprintf(b, "body: %s\n", n.within(s.note))
		default:
			fmt.Fprintln(b, "body: none")
		}
		fmt.Fprintln(b)
	}
	out := map[string]string{}
	for g, b := range files {
		out[g] = "# Generated by TestGolden (cmd/minifn/golden_test.go). Do not edit:\n" +
			"# go test ./cmd/minifn -run Golden -update\n\n" + b.String()
	}
	return out
}

func checkGolden(t *testing.T, steps []*goldenStep) {
	t.Helper()
	checkGoldenDir(t, goldenDir, render(t, steps), "no step of the scenario writes it any more", "differs from this run")
}

// checkGoldenDir compares files (name without .golden → content) with the
// files of dir, or with -update rewrites dir to hold exactly them. gone and
// differs start the messages for a file the run no longer writes and for a
// file whose content changed.
func checkGoldenDir(t *testing.T, dir string, files map[string]string, gone, differs string) {
	t.Helper()
	if *update {
		old, _ := filepath.Glob(filepath.Join(dir, "*.golden"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for g, s := range files {
			if err := os.WriteFile(filepath.Join(dir, g+".golden"), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote %d golden files to %s", len(files), dir)
		return
	}
	have, _ := filepath.Glob(filepath.Join(dir, "*.golden"))
	for _, f := range have {
		if _, ok := files[strings.TrimSuffix(filepath.Base(f), ".golden")]; !ok {
			t.Errorf("%s: %s (go test ./cmd/minifn -run Golden -update)", f, gone)
		}
	}
	for g, got := range files {
		path := filepath.Join(dir, g+".golden")
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (go test ./cmd/minifn -run Golden -update writes it)", path, err)
			continue
		}
		if string(want) != got {
			t.Errorf("%s %s (if the change is intended: go test ./cmd/minifn -run Golden -update):\n%s",
				path, differs, lineDiff(string(want), got))
		}
	}
}

// lineDiff shows how got differs from want, line by line (a longest
// common subsequence), each change under its step's heading: "-" golden,
// "+" this run. At most 40 changed lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j]: the longest common subsequence of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	heading, shown, printed := "", 0, ""
	emit := func(sign, line string) {
		if heading != printed {
			fmt.Fprintf(&out, "  %s\n", heading)
			printed = heading
		}
		fmt.Fprintf(&out, "  %s %s\n", sign, line)
		shown++
	}
	i, j := 0, 0
	for (i < len(w) || j < len(g)) && shown < 40 {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			if strings.HasPrefix(w[i], "### ") {
				heading = w[i]
			}
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || lcs[i+1][j] >= lcs[i][j+1]):
			emit("-", w[i])
			i++
		default:
			emit("+", g[j])
			j++
		}
	}
	if shown == 40 {
		out.WriteString("  …\n")
	}
	return out.String()
}

// ---- the contract's routes

// contractRoutes reads the routes table ("## Functions … and routes") of
// ../shared/CONTRACT.md: every `METHOD /path` in it, and `PUT`/`DELETE
// /path` as two routes.
func contractRoutes(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	route := regexp.MustCompile("`((?:(?:GET|POST|PUT|DELETE|PATCH)`/`)*)(GET|POST|PUT|DELETE|PATCH) (/[^` ]*)`")
	var routes []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## Functions") && strings.Contains(line, "routes")
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range route.FindAllStringSubmatch(line, -1) {
			for _, meth := range strings.Split(strings.Trim(m[1], "`/"), "`/`") {
				if meth != "" {
					routes = append(routes, meth+" "+m[3])
				}
			}
			routes = append(routes, m[2]+" "+m[3])
		}
	}
	if len(routes) == 0 {
		return nil, errors.New("no routes table found")
	}
	return routes, sc.Err()
}

// matches reports whether a request path matches a route pattern whose
// {name} segments match any one segment.
func matches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
			if xs[i] == "" {
				return false
			}
		} else if ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// checkContractRoutes fails for every route of the contract's table that
// no step of the scenario answered with success: a new contract route needs
// its golden step.
func checkContractRoutes(t *testing.T, steps []*goldenStep) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "..", "shared", "CONTRACT.md")
	routes, err := contractRoutes(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent: the golden scenario's coverage of the contract's routes is not checked", path)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	t.Logf("%s: %d routes, each checked for a golden step: %s", path, len(routes), strings.Join(routes, ", "))
	for _, r := range missingRoutes(routes, steps) {
		t.Errorf("%s is in the contract's routes table but no golden step calls it with success: add one to TestGolden", r)
	}
}

// missingRoutes returns the routes that no step answered below 400.
func missingRoutes(routes []string, steps []*goldenStep) []string {
	var missing []string
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		ok := false
		for _, s := range steps {
			p, _, _ := strings.Cut(s.rawRoutePath, "?")
			if s.method == method && matches(pattern, p) && s.status < 400 {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, r)
		}
	}
	return missing
}

// TestContractRoutesParse: the table parser finds the routes of a table
// written as CONTRACT.md writes it, "PUT/DELETE" pairs included.
func TestContractRoutesParse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "CONTRACT.md")
	os.WriteFile(p, []byte("# x\n## Functions (directory under `functions/`) and routes\n| function | routes |\n|---|---|\n"+
		"| `me` | `GET /me`; `POST /me/phone` `{\"code\"}` |\n"+
		"| `coupon-redeem` | `POST /coupons/redeem` `{\"code\"}`; admin: `PUT`/`DELETE /staff/{openid}` |\n"+
		"| `order-expire` | timer: closes unpaid orders |\n## Core JSON shapes\n| `x` | `GET /not-a-route` |\n"), 0o644)
	got, err := contractRoutes(p)
	want := []string{"GET /me", "POST /me/phone", "POST /coupons/redeem", "PUT /staff/{openid}", "DELETE /staff/{openid}"}
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	steps := []*goldenStep{
		{method: "GET", rawRoutePath: "/me", status: 200},
		{method: "POST", rawRoutePath: "/me/phone", status: 400}, // an error does not cover a route
		{method: "PUT", rawRoutePath: "/staff/o1", status: 200},
		{method: "DELETE", rawRoutePath: "/staff/o1/x", status: 204}, // nor another path
		{method: "POST", rawRoutePath: "/coupons/redeem?x=1", status: 200},
	}
	miss := missingRoutes(got, steps)
	if want := []string{"POST /me/phone", "DELETE /staff/{openid}"}; strings.Join(miss, ",") != strings.Join(want, ",") {
		t.Fatalf("missing %q, want %q", miss, want)
	}
}

// TestRenderExitPassCode: an exit pass's code that happens to hold no digit
// (about one in two hundred) is still a placeholder where a request sends it
// back; it read as a word once and failed CI.
func TestRenderExitPassCode(t *testing.T) {
	const code = "JAFWPARWKLXDGHYJCBGRCXHPYQ"
	steps := []*goldenStep{
		{group: "g", name: "pass", method: "GET", path: "/orders/x/exit-pass", status: 200,
			header: http.Header{"X-Minifn-Exit-Pass": {code}}, note: "a png image"},
		{group: "g", name: "verify", method: "POST", path: "/exit-passes/verify", status: 200,
			header: http.Header{}, reqBody: `{"code":"` + code + `"}`},
	}
	got := render(t, steps)["g"]
	if strings.Contains(got, code) || !strings.Contains(got, `request: {"code":"<code:1>"}`) {
		t.Fatalf("the code is not a placeholder:\n%s", got)
	}
	// The same for minted codes in a body (points codes failed CI so), while
	// error codes and WeChat Pay's "FAIL" stay as they are.
	steps = []*goldenStep{{group: "g", name: "mint", method: "POST", path: "/points/codes", status: 201, header: http.Header{},
		body: map[string]any{"codes": []any{"PSRXAZYMHWAHFCAS"}, "error": map[string]any{"code": "invalid_code"}, "code": "FAIL"}}}
	got = render(t, steps)["g"]
	if strings.Contains(got, "PSRXAZYMHWAHFCAS") || !strings.Contains(got, "invalid_code") || !strings.Contains(got, `"FAIL"`) {
		t.Fatalf("codes rendered wrong:\n%s", got)
	}
}
