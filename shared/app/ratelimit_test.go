package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/ratelimit"
)

// TestRateLimitDefaults: unset MINIFN_RATE_ variables give the production
// limits. (A test of the environment on purpose: it checks LoadConfig.)
func TestRateLimitDefaults(t *testing.T) {
	for _, v := range []string{"MINIFN_RATE_LOGIN", "MINIFN_RATE_CLAIM", "MINIFN_RATE_ORDER", "MINIFN_RATE_BOOKING"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("MINIFN_SESSION_SECRET", goodSecret)
	c, err := app.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	rl := c.RateLimits
	for action, want := range map[string]string{
		app.RateActionLogin:   "openid=10/1m,ip=300/1m",
		app.RateActionClaim:   "openid=30/1m,ip=1200/1m",
		app.RateActionOrder:   "openid=20/1m,ip=600/1m",
		app.RateActionBooking: "openid=10/1m,ip=600/1m",
		"unknown":             "openid=off,ip=off",
	} {
		if got := rl.Rules(action).String(); got != want {
			t.Errorf("%s: %s; want %s", action, got, want)
		}
	}
}

// TestRateLimitMalformed: a malformed MINIFN_RATE_CLAIM stops the start with
// one line naming it. (A test of the environment on purpose.)
func TestRateLimitMalformed(t *testing.T) {
	t.Setenv("MINIFN_RATE_CLAIM", "lots")
	_, err := app.LoadConfig()
	if err == nil || !strings.HasPrefix(err.Error(), "MINIFN_RATE_CLAIM: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v; want one line naming MINIFN_RATE_CLAIM", err)
	}
}

// TestRateLimit wraps a handler as the function Specs do (Sessions.Require,
// then the limit) and calls it over real HTTP: a valid token counts by
// openid and IP; a request without a valid token is refused 401 before the
// limit, counting nothing. The configuration is injected, not read from the
// environment.
func TestRateLimit(t *testing.T) {
	cfg := app.Config{
		Store: "bolt:" + filepath.Join(t.TempDir(), "minifn.db"), WechatAPIBase: "http://127.0.0.1:1",
		SessionSecret: goodSecret, SessionTTL: time.Hour, PayAPIBase: "https://api.mch.weixin.qq.com",
		OrderTTL: 15 * time.Minute,
	}
	cfg.RateClaim, _ = ratelimit.ParseRules("openid=2/1m,ip=3/1m")
	a, err := app.Open(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := a.Sessions.Require(a.RateLimit(app.RateActionClaim)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	alice, _ := a.Sessions.Issue("alice")
	call := func(token string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/coupons/claim", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i, want := range []int{201, 201, 429} {
		if got, _ := call(alice); got != want {
			t.Fatalf("alice's call %d: %d; want %d", i+1, got, want)
		}
	}
	// Forged tokens are refused 401 by the session middleware and use none
	// of the IP's 3 (2 used by alice: her refused 3rd counted for neither
	// limit).
	for i := range 10 {
		if status, _ := call("forged.token"); status != 401 {
			t.Fatalf("forged call %d: %d; want 401", i+1, status)
		}
	}
	bob, _ := a.Sessions.Issue("bob")
	for i, want := range []int{201, 429} {
		status, retry := call(bob)
		if status != want {
			t.Fatalf("bob's call %d: %d; want %d (the IP's limit)", i+1, status, want)
		}
		if status == 429 && retry == "" {
			t.Fatal("429 without Retry-After")
		}
	}
}
