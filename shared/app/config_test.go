package app_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store"
)

// contractVars is the contract's configuration table, exactly, with the push
// variables of its "Going live" additions.
var contractVars = []string{
	"MINIFN_STORE", "MINIFN_WECHAT_APPID", "MINIFN_WECHAT_SECRET", "MINIFN_WECHAT_API_BASE",
	"MINIFN_WECHAT_PUSH_TOKEN", "MINIFN_WECHAT_PUSH_AES_KEY",
	"MINIFN_SESSION_SECRET", "MINIFN_SESSION_TTL", "MINIFN_ADMIN_TOKEN",
	"MINIFN_PAY_MCHID", "MINIFN_PAY_CERT_SERIAL", "MINIFN_PAY_PRIVATE_KEY", "MINIFN_PAY_APIV3_KEY",
	"MINIFN_PAY_PUBLIC_KEY_ID", "MINIFN_PAY_PUBLIC_KEY", "MINIFN_PAY_API_BASE", "MINIFN_PAY_NOTIFY_URL",
	"MINIFN_ORDER_TTL", "MINIFN_ADDR",
}

const goodSecret = "0123456789abcdef0123456789abcdef"

func TestVariableNamesAreTheContracts(t *testing.T) {
	var buf bytes.Buffer
	if err := envconfig.Usagef("", &app.Config{}, &buf, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(buf.String())
	want := append([]string{}, contractVars...)
	// The sections embedded in Config (their own tests pin their names).
	for _, section := range []any{&app.RateLimits{}, &app.Engage{}, &app.Risk{}, &app.Shipping{}, &app.Wallet{}, &app.Booking{}} {
		var b bytes.Buffer
		if err := envconfig.Usagef("", section, &b, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
			t.Fatal(err)
		}
		want = append(want, strings.Fields(b.String())...)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("variables:\n got %v\nwant %v", got, want)
	}
}

// clearEnv unsets every contract variable (and PORT) for the test. Only the
// tests of LoadConfig itself (reading the environment, on purpose) touch the
// environment; the others give Open a Config value.
func clearEnv(t *testing.T) {
	vars := append([]string{"PORT", "MINIFN_RATE_LOGIN", "MINIFN_RATE_CLAIM", "MINIFN_RATE_ORDER", "MINIFN_RATE_BOOKING", "MINIFN_POINTS_PER_YUAN",
		"MINIFN_QRCODE_USER_LIMIT", "MINIFN_SUBSCRIBE_PAID_TEMPLATE", "MINIFN_SUBSCRIBE_PAID_FIELDS", "MINIFN_SUBSCRIBE_PAID_PAGE",
		"MINIFN_SUBSCRIBE_STATE", "MINIFN_RISK_RANK_MAX", "MINIFN_RISK_FAIL", "MINIFN_SHIPPING_MODE", "MINIFN_WALLET",
		"MINIFN_SUBSCRIBE_BOOKING_TEMPLATE", "MINIFN_SUBSCRIBE_BOOKING_FIELDS", "MINIFN_SUBSCRIBE_BOOKING_PAGE", "MINIFN_BOOKING_REMIND_BEFORE"}, contractVars...)
	for _, v := range vars {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// TestDefaults: an environment with only the session secret gives the
// contract's defaults. (A test of the environment on purpose.)
func TestDefaults(t *testing.T) {
	clearEnv(t)
	t.Setenv("MINIFN_SESSION_SECRET", goodSecret)
	c, err := app.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := app.Config{
		Store:         "bolt:minifn.db",
		WechatAPIBase: "https://api.weixin.qq.com",
		SessionSecret: goodSecret,
		SessionTTL:    2 * time.Hour,
		PayAPIBase:    "https://api.mch.weixin.qq.com",
		OrderTTL:      15 * time.Minute,
		Addr:          "127.0.0.1:8080",
		Engage: app.Engage{PointsPerYuan: 1, QrcodeUserLimit: 30, SubscribePaidPage: app.DefaultSubscribePaidPage,
			SubscribeState: "formal"},
		Risk:     app.Risk{Fail: "open"},
		Shipping: app.Shipping{Mode: "virtual"},
		Wallet:   app.Wallet{Mode: "off"},
		Booking:  app.Booking{SubscribeBookingPage: app.DefaultSubscribeBookingPage, BookingRemindBefore: 2 * time.Hour},
	}
	for _, v := range []struct {
		to   *ratelimit.Rules
		from string
	}{{&want.RateLogin, "openid=10/1m,ip=300/1m"}, {&want.RateClaim, "openid=30/1m,ip=1200/1m"}, {&want.RateOrder, "openid=20/1m,ip=600/1m"},
		{&want.RateBooking, "openid=10/1m,ip=600/1m"}} {
		*v.to, _ = ratelimit.ParseRules(v.from)
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %#v\nwant %#v", c, want)
	}
}

// TestPort: PORT gives the listen address, MINIFN_ADDR wins over it. (A
// test of the environment on purpose.)
func TestPort(t *testing.T) {
	clearEnv(t)
	t.Setenv("PORT", "9000")
	c, _ := app.LoadConfig()
	if c.Addr != ":9000" {
		t.Fatalf("Addr = %q with PORT=9000", c.Addr)
	}
	t.Setenv("MINIFN_ADDR", "127.0.0.1:7000")
	c, _ = app.LoadConfig()
	if c.Addr != "127.0.0.1:7000" {
		t.Fatalf("MINIFN_ADDR must win over PORT: %q", c.Addr)
	}
}

func writePEM(t *testing.T) (text string, path string) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	text = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	path = filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(path, []byte(text), 0o600)
	return text, path
}

// TestErrors checks that each bad configuration fails with one line that
// names the variable and never shows a secret value. (A test of the
// environment on purpose: the values go through LoadConfig's parsing, as
// the deploy files give them, then Validate.)
func TestErrors(t *testing.T) {
	keyText, keyPath := writePEM(t)
	pay := map[string]string{
		"MINIFN_PAY_MCHID": "1900000001", "MINIFN_PAY_CERT_SERIAL": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
		"MINIFN_PAY_PRIVATE_KEY": keyPath, "MINIFN_PAY_APIV3_KEY": "abcdefghijklmnopqrstuvwxyz012345",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		want string // the variable the line must name; "" = valid
	}{
		{"no secret", map[string]string{}, "MINIFN_SESSION_SECRET"},
		{"short secret", map[string]string{"MINIFN_SESSION_SECRET": "s3cr3t-but-short"}, "MINIFN_SESSION_SECRET"},
		{"bad ttl", map[string]string{"MINIFN_SESSION_TTL": "two hours"}, "MINIFN_SESSION_TTL"},
		{"zero ttl", map[string]string{"MINIFN_SESSION_TTL": "0s"}, "MINIFN_SESSION_TTL"},
		{"bad store", map[string]string{"MINIFN_STORE": "redis://x"}, "MINIFN_STORE"},
		{"empty bolt path", map[string]string{"MINIFN_STORE": "bolt:"}, "MINIFN_STORE"},
		{"dynamodb", map[string]string{"MINIFN_STORE": "dynamodb:minifn"}, ""},
		{"postgres", map[string]string{"MINIFN_STORE": "postgres://u:p@127.0.0.1/minifn"}, ""},
		{"appid alone", map[string]string{"MINIFN_WECHAT_APPID": "wx123"}, "MINIFN_WECHAT_SECRET"},
		{"secret alone", map[string]string{"MINIFN_WECHAT_SECRET": "hidden-wechat-secret"}, "MINIFN_WECHAT_APPID"},
		{"bad api base", map[string]string{"MINIFN_WECHAT_API_BASE": "api.weixin.qq.com"}, "MINIFN_WECHAT_API_BASE"},
		{"short admin token", map[string]string{"MINIFN_ADMIN_TOKEN": "hunter2"}, "MINIFN_ADMIN_TOKEN"},
		{"order ttl", map[string]string{"MINIFN_ORDER_TTL": "30s"}, "MINIFN_ORDER_TTL"},
		{"bad order ttl", map[string]string{"MINIFN_ORDER_TTL": "soon"}, "MINIFN_ORDER_TTL"},
		// A minute would leave a prepay a few ms later less than the minute
		// WeChat Pay gives a payment at least; two leave room.
		{"order ttl of a minute", map[string]string{"MINIFN_ORDER_TTL": "1m"}, "MINIFN_ORDER_TTL"},
		{"order ttl of two minutes", map[string]string{"MINIFN_ORDER_TTL": "2m"}, ""},
		{"booking remind too soon", map[string]string{"MINIFN_BOOKING_REMIND_BEFORE": "1m"}, "MINIFN_BOOKING_REMIND_BEFORE"},
		{"booking remind too early", map[string]string{"MINIFN_BOOKING_REMIND_BEFORE": "72h"}, "MINIFN_BOOKING_REMIND_BEFORE"},
		{"bad booking remind", map[string]string{"MINIFN_BOOKING_REMIND_BEFORE": "soon"}, "MINIFN_BOOKING_REMIND_BEFORE"},
		{"booking page set empty", map[string]string{"MINIFN_SUBSCRIBE_BOOKING_PAGE": ""}, ""},
		{"booking remind", map[string]string{"MINIFN_BOOKING_REMIND_BEFORE": "30m"}, ""},
		{"pay", pay, ""},
		{"pay keys set empty", map[string]string{"MINIFN_PAY_PRIVATE_KEY": "", "MINIFN_PAY_PUBLIC_KEY": "", "MINIFN_PAY_MCHID": ""}, ""},
		{"pay inline key", with(pay, "MINIFN_PAY_PRIVATE_KEY", keyText), ""},
		{"pay flattened key", with(pay, "MINIFN_PAY_PRIVATE_KEY", strings.ReplaceAll(keyText, "\n", `\n`)), ""},
		{"pay missing serial", with(pay, "MINIFN_PAY_CERT_SERIAL", ""), "MINIFN_PAY_CERT_SERIAL"},
		{"pay key missing file", with(pay, "MINIFN_PAY_PRIVATE_KEY", "/nonexistent/hidden-key-path.pem"), "MINIFN_PAY_PRIVATE_KEY"},
		{"pay key not PEM", with(pay, "MINIFN_PAY_PRIVATE_KEY", "-----BEGIN hidden-key-material"), "MINIFN_PAY_PRIVATE_KEY"},
		{"pay apiv3 length", with(pay, "MINIFN_PAY_APIV3_KEY", "hidden-apiv3"), "MINIFN_PAY_APIV3_KEY"},
		{"pay public key alone", with(pay, "MINIFN_PAY_PUBLIC_KEY_ID", "PUB_KEY_ID_0001"), "MINIFN_PAY_PUBLIC_KEY"},
		{"notify http", with(pay, "MINIFN_PAY_NOTIFY_URL", "http://example.com/pay/notify"), "MINIFN_PAY_NOTIFY_URL"},
		{"notify loopback", with(pay, "MINIFN_PAY_NOTIFY_URL", "http://127.0.0.1:8080/pay/notify"), ""},
		{"notify query", with(pay, "MINIFN_PAY_NOTIFY_URL", "https://x.example/pay/notify?a=1"), "MINIFN_PAY_NOTIFY_URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			if _, ok := c.env["MINIFN_SESSION_SECRET"]; !ok && c.name != "no secret" {
				t.Setenv("MINIFN_SESSION_SECRET", goodSecret)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cfg, err := app.LoadConfig()
			if err == nil {
				err = cfg.Validate()
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid configuration refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error naming %s", c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.want+" ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q must be one line starting with %s", msg, c.want)
			}
			for _, secret := range []string{"hidden", "s3cr3t", "hunter2"} {
				if strings.Contains(msg, secret) {
					t.Fatalf("error %q shows a secret value", msg)
				}
			}
		})
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	keyText, _ := writePEM(t)
	c := app.Config{SessionSecret: goodSecret, WechatSecret: "wechat-secret", AdminToken: "admin-token-0123456789",
		PayApiv3Key: "apiv3-key", PayPrivateKey: app.PEM(keyText)}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, c)
		for _, s := range []string{goodSecret, "wechat-secret", "admin-token", "apiv3-key", "PRIVATE KEY"} {
			if strings.Contains(out, s) {
				t.Fatalf("%s of Config shows %q: %s", format, s, out)
			}
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := app.Config{
		Store: "bolt:" + filepath.Join(dir, "sub", "minifn.db"), WechatAPIBase: "http://127.0.0.1:1",
		SessionSecret: goodSecret, SessionTTL: time.Hour, PayAPIBase: "https://api.mch.weixin.qq.com",
		OrderTTL: 15 * time.Minute,
	}
	a, err := app.Open(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.WeChat != nil || a.RequireWeChat() == nil {
		t.Fatal("WeChat client built without credentials")
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "minifn.db")); err != nil {
		t.Fatalf("bolt file: %v", err)
	}
	tok, _ := a.Sessions.Issue("o1")
	if id, err := a.Sessions.Verify(tok); err != nil || id != "o1" {
		t.Fatalf("sessions: %q %v", id, err)
	}
	// A second process (here: a second Open) cannot take the bolt file: it
	// starts, and its store says unavailable rather than hanging.
	b, err := app.Open(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatalf("a second Open of a held bolt file: %v; want it to start", err)
	}
	defer b.Close()
	if _, err := b.Store.Get(context.Background(), store.Key{PK: "user#1", SK: "profile"}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get through the second Open = %v; want ErrUnavailable", err)
	}
}

// TestEngageEmptyIsDefault: the deploy files pass the subscribe variables
// to every function that reads them, empty when the merchant sets none; an
// empty page or state must mean the default, not a message that opens no
// page. (A test of the environment on purpose: it reads it.)
func TestEngageEmptyIsDefault(t *testing.T) {
	clearEnv(t)
	t.Setenv("MINIFN_SESSION_SECRET", goodSecret)
	for _, k := range []string{"MINIFN_SUBSCRIBE_PAID_TEMPLATE", "MINIFN_SUBSCRIBE_PAID_FIELDS",
		"MINIFN_SUBSCRIBE_PAID_PAGE", "MINIFN_SUBSCRIBE_STATE"} {
		t.Setenv(k, "")
	}
	load := func() (app.Engage, error) {
		c, err := app.LoadConfig()
		if err == nil {
			err = c.Validate()
		}
		return c.Engage, err
	}
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if c.SubscribePaidPage != app.DefaultSubscribePaidPage || c.SubscribeState != "formal" || c.SubscribePaidTemplate != "" {
		t.Errorf("empty variables: page %q, state %q, template %q; want the defaults", c.SubscribePaidPage, c.SubscribeState, c.SubscribePaidTemplate)
	}
	t.Setenv("MINIFN_SUBSCRIBE_PAID_PAGE", "pages/x?o={order_id}")
	t.Setenv("MINIFN_SUBSCRIBE_STATE", "trial")
	if c, err = load(); err != nil || c.SubscribePaidPage != "pages/x?o={order_id}" || c.SubscribeState != "trial" {
		t.Errorf("set variables: %+v, %v", c, err)
	}
	t.Setenv("MINIFN_POINTS_PER_YUAN", "lots")
	if _, err = load(); err == nil || err.Error() != "MINIFN_POINTS_PER_YUAN is malformed" {
		t.Errorf("malformed points: %v; want one line naming the variable, not quoting it", err)
	}
}

// TestWalletSwitch: MINIFN_WALLET is off unless set to on; anything else
// fails at start naming the variable.
func TestWalletSwitch(t *testing.T) {
	for v, want := range map[string]string{"": "off", "off": "off", "on": "on", "yes": "error", "ON": "error"} {
		clearEnv(t)
		t.Setenv("MINIFN_SESSION_SECRET", goodSecret)
		t.Setenv("MINIFN_WALLET", v)
		c, err := app.LoadConfig()
		if err == nil {
			err = c.Validate()
		}
		switch {
		case want == "error" && (err == nil || !strings.Contains(err.Error(), "MINIFN_WALLET")):
			t.Errorf("MINIFN_WALLET=%q: %v; want an error naming the variable", v, err)
		case want != "error" && (err != nil || c.Wallet.Mode != want || c.Wallet.On() != (want == "on")):
			t.Errorf("MINIFN_WALLET=%q: mode %q, err %v; want %s", v, c.Wallet.Mode, err, want)
		}
	}
}
