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
)

func TestRateLimitDefaults(t *testing.T) {
	for _, v := range []string{"MINIFN_RATE_LOGIN", "MINIFN_RATE_CLAIM", "MINIFN_RATE_ORDER"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	rl, err := app.LoadRateLimits()
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]string{
		app.RateActionLogin: "openid=10/1m,ip=300/1m",
		app.RateActionClaim: "openid=30/1m,ip=1200/1m",
		app.RateActionOrder: "openid=20/1m,ip=600/1m",
		"unknown":           "openid=off,ip=off",
	} {
		if got := rl.Rules(action).String(); got != want {
			t.Errorf("%s: %s; want %s", action, got, want)
		}
	}
}

func TestRateLimitMalformed(t *testing.T) {
	t.Setenv("MINIFN_RATE_CLAIM", "lots")
	_, err := app.LoadRateLimits()
	if err == nil || !strings.HasPrefix(err.Error(), "MINIFN_RATE_CLAIM: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v; want one line naming MINIFN_RATE_CLAIM", err)
	}
}

// TestRateLimit wraps a handler as the catalog does and calls it over real
// HTTP: a valid token counts by openid, an invalid one only by IP, and the
// limits hold in the store (a second App on it is a second instance).
func TestRateLimit(t *testing.T) {
	t.Setenv("MINIFN_RATE_CLAIM", "openid=2/1m,ip=5/1m")
	cfg := app.Config{
		Store: "bolt:" + filepath.Join(t.TempDir(), "minifn.db"), WechatAPIBase: "http://127.0.0.1:1",
		SessionSecret: goodSecret, SessionTTL: time.Hour, PayAPIBase: "https://api.mch.weixin.qq.com",
		OrderTTL: 15 * time.Minute,
	}
	a, err := app.Open(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h, err := a.RateLimit(app.RateActionClaim, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	if err != nil {
		t.Fatal(err)
	}
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
	// Forged tokens are not anyone's: they count by IP only (2 of 5 used).
	for i, want := range []int{201, 201, 201, 429} {
		status, retry := call("forged.token")
		if status != want {
			t.Fatalf("forged call %d: %d; want %d", i+1, status, want)
		}
		if status == 429 && retry == "" {
			t.Fatal("429 without Retry-After")
		}
	}
}
