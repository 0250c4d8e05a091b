package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/session"
)

// contractVars are unset for these tests, so that the developer's shell
// cannot change what they check: cleanEnv is about the environment on
// purpose (it keeps it out). A test that wants a setting injects it into
// the Config instead (startDevWith, newShopWith).
var contractVars = []string{
	"MINIFN_STORE", "MINIFN_WECHAT_APPID", "MINIFN_WECHAT_SECRET", "MINIFN_WECHAT_API_BASE",
	"MINIFN_SESSION_SECRET", "MINIFN_SESSION_TTL", "MINIFN_ADMIN_TOKEN",
	"MINIFN_PAY_MCHID", "MINIFN_PAY_CERT_SERIAL", "MINIFN_PAY_PRIVATE_KEY", "MINIFN_PAY_APIV3_KEY",
	"MINIFN_PAY_PUBLIC_KEY_ID", "MINIFN_PAY_PUBLIC_KEY", "MINIFN_PAY_API_BASE", "MINIFN_PAY_NOTIFY_URL",
	"MINIFN_ORDER_TTL", "MINIFN_ADDR", "PORT", "MINIFN_WECHAT_PUSH_TOKEN", "MINIFN_WECHAT_PUSH_AES_KEY", "MINIFN_WALLET",
}

func cleanEnv(t *testing.T) {
	t.Helper()
	for _, v := range contractVars {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// startDev runs `minifn dev` in-process on a loopback port with its state
// in dir, as devCmd does, and returns its base URL; it stops at cleanup.
func startDev(t *testing.T, dir string) (string, *dev) {
	t.Helper()
	base, d, stop := startStoppableDev(t, dir)
	t.Cleanup(stop)
	return base, d
}

// startStoppableDev is startDev with the stop in the caller's hands (stop
// may be called more than once).
func startStoppableDev(t *testing.T, dir string) (string, *dev, func()) {
	t.Helper()
	return startWrappedDev(t, dir, func(h http.Handler) http.Handler { return h })
}

// startWrappedDev is startStoppableDev with wrap in front of dev's handler.
func startWrappedDev(t *testing.T, dir string, wrap func(http.Handler) http.Handler) (string, *dev, func()) {
	t.Helper()
	return startDevOn(t, dir, "127.0.0.1:0", wrap)
}

// startDevOn is startWrappedDev on addr (a restart on the address of
// before, as `minifn dev` restarts on 127.0.0.1:8080).
func startDevOn(t *testing.T, dir, addr string, wrap func(http.Handler) http.Handler) (string, *dev, func()) {
	t.Helper()
	return startDevConfig(t, dir, addr, nil, wrap)
}

// startDevWith is startDev with edit applied to the Config devConfig read,
// as an environment holding those settings would have filled it.
func startDevWith(t *testing.T, dir string, edit func(*app.Config)) (string, *dev) {
	t.Helper()
	base, d, stop := startDevConfig(t, dir, "127.0.0.1:0", edit, func(h http.Handler) http.Handler { return h })
	t.Cleanup(stop)
	return base, d
}

// startDevConfig runs dev as devCmd does (devConfig, newDev, platform.Serve),
// with edit (if any) applied to the Config between devConfig and newDev.
func startDevConfig(t *testing.T, dir, addr string, edit func(*app.Config), wrap func(http.Handler) http.Handler) (string, *dev, func()) {
	t.Helper()
	cfg, err := devConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := newDev(ctx, cfg, "http://"+ln.Addr().String(), dir, io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- platform.Serve(ctx, ln, wrap(d.Handler)) }()
	var once sync.Once
	return d.URL, d, func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			d.Close()
		})
	}
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

// code returns the error code of an error answer.
func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func do(t *testing.T, method, url, token string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, url, raw)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return a
}

func post(t *testing.T, url string, body string) answer {
	return do(t, "POST", url, "", strings.NewReader(body))
}

func mintCode(t *testing.T, base, user string) (code, openid string) {
	t.Helper()
	a := post(t, base+"/_emulator/login-code", `{"user":"`+user+`"}`)
	if a.status != 200 || a.str("code") == "" {
		t.Fatalf("login-code: %d %s", a.status, a.raw)
	}
	return a.str("code"), a.str("openid")
}

func login(t *testing.T, base, code string) answer {
	t.Helper()
	return post(t, base+"/login", `{"code":"`+code+`"}`)
}

func TestDevLogin(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	base, d := startDev(t, dir)

	code, openid := mintCode(t, base, "alice")
	before := time.Now().Truncate(time.Second)
	a := login(t, base, code)
	if a.status != 200 || a.str("openid") != openid || a.str("token") == "" {
		t.Fatalf("login: %d %s", a.status, a.raw)
	}
	exp, err := time.Parse(time.RFC3339, a.str("expires_at"))
	if err != nil || exp.Before(before.Add(2*time.Hour)) || exp.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("expires_at %q: want RFC 3339, two hours ahead (%v)", a.str("expires_at"), err)
	}
	if strings.Contains(a.raw, "session_key") {
		t.Fatalf("login answer shows the session_key: %s", a.raw)
	}
	token := a.str("token")

	me := do(t, "GET", base+"/me", token, nil)
	user, _ := me.body["user"].(map[string]any)
	if me.status != 200 || user["openid"] != openid || user["created_at"] == nil || user["last_login_at"] == nil {
		t.Fatalf("GET /me: %d %s", me.status, me.raw)
	}
	if strings.Contains(me.raw, "session_key") {
		t.Fatalf("GET /me shows the session_key: %s", me.raw)
	}

	// An expired token signed with the dev server's own secret.
	old := session.New([]byte(d.App.Config.SessionSecret), time.Hour, "",
		func() time.Time { return time.Now().Add(-2 * time.Hour) })
	expired, _ := old.Issue(openid)

	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"reused code", "POST", "/login", "", `{"code":"` + code + `"}`, 400, "invalid_code"},
		{"unknown code", "POST", "/login", "", `{"code":"0a1NeverMinted0000000000000000000"}`, 400, "invalid_code"},
		{"empty code", "POST", "/login", "", `{"code":""}`, 400, "invalid_request"},
		{"no code", "POST", "/login", "", `{}`, 400, "invalid_request"},
		{"code not a string", "POST", "/login", "", `{"code":42}`, 400, "invalid_request"},
		{"malformed JSON", "POST", "/login", "", `{"code":`, 400, "invalid_request"},
		{"body over 64 KiB", "POST", "/login", "", `{"code":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "body_too_large"},
		{"wrong method", "GET", "/login", "", "", 405, "method_not_allowed"},
		{"wrong method on /me", "DELETE", "/me", token, "", 405, "method_not_allowed"},
		{"unknown route", "GET", "/nope", "", "", 404, "not_found"},
		{"no token", "GET", "/me", "", "", 401, "unauthenticated"},
		{"forged token", "GET", "/me", token[:len(token)-2] + "AA", "", 401, "invalid_token"},
		{"truncated token", "GET", "/me", token[:len(token)/2], "", 401, "invalid_token"},
		{"expired token", "GET", "/me", expired, "", 401, "invalid_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			a := do(t, c.method, base+c.path, c.token, body)
			if a.status != c.status || a.code() != c.code {
				t.Fatalf("%d %s, want %d %s", a.status, a.raw, c.status, c.code)
			}
			if c.code == "invalid_request" && c.path == "/login" && c.name != "malformed JSON" && !strings.Contains(a.raw, "code") {
				t.Fatalf("the message does not name the field: %s", a.raw)
			}
		})
	}
}

// TestDevKeepsSecrets restarts dev on the same directory: the store and the
// session secret are kept, so a token from before the restart still works.
func TestDevKeepsSecrets(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	base, d, stop := startStoppableDev(t, dir)
	defer stop()
	code, _ := mintCode(t, base, "bob")
	token := login(t, base, code).str("token")
	admin := d.App.Config.AdminToken
	cfg1 := d.App.Config
	// Stop the first server before starting the second: bolt allows one process.
	stop()
	base2, d2 := startDev(t, dir)
	if d2.App.Config.SessionSecret != cfg1.SessionSecret || d2.App.Config.AdminToken != admin || len(admin) < 16 {
		t.Fatal("dev did not keep its generated secrets")
	}
	if a := do(t, "GET", base2+"/me", token, nil); a.status != 200 {
		t.Fatalf("token from before the restart: %d %s", a.status, a.raw)
	}
	fi, err := os.Stat(dir + "/session-secret")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session-secret file: %v %v", fi, err)
	}
}

func TestDevBanner(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	base, d := startDev(t, dir)
	var buf bytes.Buffer
	d.banner(&buf, dir)
	out := buf.String()
	for _, want := range []string{base, "login", "POST /login", "GET /me", "/_emulator/login-code", string(d.App.Config.AdminToken)} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
}

func TestDevRealWeChatNeedsNoEmulator(t *testing.T) {
	cleanEnv(t)
	base, d := startDevWith(t, t.TempDir(), func(c *app.Config) {
		c.WechatAppid, c.WechatSecret = "wx0123456789abcdef", "a-real-secret-would-be-here"
	})
	if d.App.Config.WechatAPIBase != "https://api.weixin.qq.com" || (d.Emu != nil && d.Emu.wechatOn) {
		t.Fatalf("dev emulated WeChat although credentials are set: %+v", d.App.Config.WechatAPIBase)
	}
	if a := post(t, base+"/_emulator/login-code", `{"user":"x"}`); a.status != 404 {
		t.Fatalf("the emulator is served with real credentials: %d", a.status)
	}
}
