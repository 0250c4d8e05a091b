package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store/bolt"
)

// rules parses rate-limit rules written as MINIFN_RATE_ values.
func rules(t *testing.T, s string) ratelimit.Rules {
	t.Helper()
	r, err := ratelimit.ParseRules(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRateLimits sets tight rate limits on a real dev server and
// checks that login, claim and order create answer 429 rate_limited with
// Retry-After once over them, per openid and per source IP, and that a
// refused request creates nothing. Windows are a day long so that the test
// never straddles one.
func TestRateLimits(t *testing.T) {
	s := newShopWith(t, func(c *app.Config) { // alice and bob log in once each
		c.RateLogin, c.RateClaim = rules(t, "openid=2/24h,ip=off"), rules(t, "openid=2/24h,ip=off")
		c.RateOrder = rules(t, "openid=off,ip=3/24h")
	})

	s.login(t, "alice")
	code, _ := mintCode(t, s.base, "alice")
	limited(t, "alice's 3rd login", login(t, s.base, code))
	s.login(t, "carol") // another openid from the same IP is fine

	s.claim(t, s.alice)
	wantError(t, "alice's 2nd claim (per-user limit 1)", s.call(t, "POST", "/coupons/claim", s.alice, `{"campaign_id":"`+s.campaignID+`"}`), 409, "")
	limited(t, "alice's 3rd claim", s.call(t, "POST", "/coupons/claim", s.alice, `{"campaign_id":"`+s.campaignID+`"}`))

	s.order(t, s.alice, "")
	s.order(t, s.bob, "")
	s.order(t, s.alice, "")
	limited(t, "the 4th order from the IP", s.call(t, "POST", "/orders", s.bob, `{"items":[{"sku":"latte","quantity":1}]}`))
	if a := s.call(t, "GET", "/orders", s.bob, ""); strings.Count(a.raw, `"out_trade_no"`) != 1 {
		t.Errorf("bob has %d orders; want 1 (the refused one created nothing): %s", strings.Count(a.raw, `"out_trade_no"`), a.raw)
	}
}

func limited(t *testing.T, what string, a answer) {
	t.Helper()
	wantError(t, what, a, http.StatusTooManyRequests, "rate_limited")
}

// The limits answer with Retry-After; checked on raw HTTP since answer
// keeps no headers.
func TestRateLimitRetryAfter(t *testing.T) {
	s := newShopWith(t, func(c *app.Config) { c.RateClaim = rules(t, "openid=off,ip=1/24h") })
	s.claim(t, s.alice)
	req, _ := http.NewRequest("POST", s.base+"/coupons/claim", strings.NewReader(`{"campaign_id":"`+s.campaignID+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.bob)
	req.Header.Set("Idempotency-Key", "bob-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != 429 || err != nil || secs < 1 || secs > 24*3600 {
		t.Fatalf("status %d, Retry-After %q; want 429 with 1..86400 seconds", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// TestFaultWeChat: WeChat failing or too slow makes login a 502 within the
// WeChat client's timeout, and the next login works (nothing stuck).
func TestFaultWeChat(t *testing.T) {
	s := newShop(t)
	const path = "/sns/jscode2session"
	s.d.Emu.wechat.Fail(path, 1, -1) // -1: "system busy"
	code, _ := mintCode(t, s.base, "dave")
	wantError(t, "login while WeChat fails", login(t, s.base, code), 502, "")

	s.d.Emu.wechat.Slow(path, 1, 8*time.Second) // longer than the client's 5 s timeout
	code, _ = mintCode(t, s.base, "dave")
	start := time.Now()
	a := login(t, s.base, code)
	wantError(t, "login while WeChat hangs", a, 502, "")
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("the slow login took %s; want the client's timeout (5 s)", d)
	}
	s.login(t, "dave") // and then it works
}

// TestFaultStoreDown: with the store unreachable (DynamoDB, or PostgreSQL,
// on a closed port), every route that needs it answers 503
// store_unavailable with Retry-After, and the dev server stays up.
func TestFaultStoreDown(t *testing.T) {
	for _, backend := range []struct {
		name  string
		store string            // MINIFN_STORE, injected
		aws   map[string]string // the AWS SDK's own variables
	}{
		{"dynamodb", "dynamodb:minifn", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://" + closedPort(t),
			"AWS_REGION": "ap-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}},
		{"postgres", "postgres://minifn:secret@" + closedPort(t) + "/minifn?sslmode=disable", nil},
	} {
		t.Run(backend.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range backend.aws {
				// The environment on purpose: the DynamoDB client takes its
				// region, credentials and endpoint from the standard AWS
				// variables, as on Lambda (shared/store/dynamo), not from Config.
				t.Setenv(k, v)
			}
			storeDownRoutes(t, backend.store)
		})
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func storeDownRoutes(t *testing.T, storeURL string) {
	base, d := startDevWith(t, t.TempDir(), func(c *app.Config) { c.Store = storeURL })
	admin := string(d.App.Config.AdminToken)
	token, _ := d.App.Sessions.Issue("alice-openid")
	s := &shop{base: base, d: d, admin: admin}
	// The DynamoDB SDK retries a refused connection with backoff (about
	// 2.5 s a request), so the routes are tried side by side.
	var wg sync.WaitGroup
	for _, r := range []struct{ method, path, token, body string }{
		{"GET", "/products", "", ""},
		{"GET", "/campaigns", "", ""},
		{"POST", "/products", admin, `{"sku":"latte","title":"Latte","price":2800,"stock":10}`},
		{"GET", "/orders", token, ""},
		{"POST", "/coupons/claim", token, `{"campaign_id":"c1"}`},
		{"POST", "/orders", token, `{"items":[{"sku":"latte","quantity":1}]}`},
		{"GET", "/points", token, ""},
	} {
		wg.Go(func() { storeDown(t, base, r.method, r.path, r.token, r.body) })
	}
	wg.Wait()
	wantError(t, "claim with the store down", s.call(t, "POST", "/coupons/claim", token, `{"campaign_id":"c1"}`), 503, "store_unavailable")
}

func storeDown(t *testing.T, base, method, path, token, body string) {
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "k1")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Errorf("%s %s with the store down: %d, Retry-After %q; want 503 with Retry-After",
			method, path, res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// holdBoltEnv makes the test binary, run as a child by TestFaultBoltHeld,
// hold the bolt file it names until its stdin closes.
const holdBoltEnv = "MINIFN_DEV_TEST_HOLD_BOLT"

func TestHoldBoltFile(t *testing.T) {
	path := os.Getenv(holdBoltEnv)
	if path == "" {
		t.Skip("the child process of TestFaultBoltHeld")
	}
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	io.Copy(io.Discard, os.Stdin)
	st.Close()
}

// TestFaultBoltHeld: with the bolt file held by another process, the
// functions start and answer 503 store_unavailable with Retry-After, write
// nothing, and work once the other process lets go.
func TestFaultBoltHeld(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestHoldBoltFile$")
	child.Env = append(os.Environ(), holdBoltEnv+"="+filepath.Join(dir, "minifn.db"))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); child.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child said %q, %v", line, err)
	}

	base, d := startDev(t, dir) // starts although the file is held
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	const latte = `{"sku":"latte","title":"Latte","price":2800,"stock":10}`
	storeDown(t, base, "GET", "/products", "", "")
	storeDown(t, base, "POST", "/products", s.admin, latte)
	wantError(t, "create a product while the file is held", s.call(t, "POST", "/products", s.admin, latte), 503, "store_unavailable")

	stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if a := s.call(t, "GET", "/products", "", ""); a.status != 200 || strings.Contains(a.raw, "latte") {
		t.Fatalf("products once the file is free: %d %s; want 200 and none (nothing was written while held)", a.status, a.raw)
	}
	if a := s.call(t, "POST", "/products", s.admin, latte); a.status != 201 {
		t.Fatalf("create a product once the file is free: %d %s", a.status, a.raw)
	}
	if a := s.call(t, "GET", "/products", "", ""); a.status != 200 || strings.Count(a.raw, `"sku":"latte"`) != 1 {
		t.Errorf("products after the create: %d %s; want latte once", a.status, a.raw)
	}
}
