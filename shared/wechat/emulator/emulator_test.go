package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests speak raw HTTP to the emulator and check it against the protocol
// facts (shared/WECHAT-PROTOCOLS.md), not against minifn's client.

const (
	appA, secretA = "wxaaaaaaaaaaaaaaaa", "secret-a"
	appU, secretU = "wxuuuuuuuuuuuuuuuu", "secret-u" // bound to an Open Platform account
	appV, secretV = "wxvvvvvvvvvvvvvvvv", "secret-v" // bound too
)

// clock is a settable time source shared by the emulator and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEmulator starts an emulator with three apps on a loopback server.
func testEmulator(t *testing.T) (*Emulator, *httptest.Server, *clock) {
	t.Helper()
	clk := newClock()
	e := New(Options{Now: clk.Now, Apps: map[string]App{
		appA: {Secret: secretA},
		appU: {Secret: secretU, UnionIDs: true},
		appV: {Secret: secretV, UnionIDs: true},
	}})
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return e, srv, clk
}

// answer is a decoded WeChat answer plus its HTTP metadata.
type answer struct {
	status      int
	contentType string
	body        map[string]any
	raw         string
}

func (a answer) errcode() int {
	v, ok := a.body["errcode"].(float64)
	if !ok {
		return 0
	}
	return int(v)
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil && resp.StatusCode == http.StatusOK {
		t.Fatalf("%s %s: not JSON: %q", req.Method, req.URL.Path, raw)
	}
	return a
}

func get(t *testing.T, u string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, req)
}

func post(t *testing.T, u string, body any) answer {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// code2Session calls /sns/jscode2session as the official page shows.
func code2Session(t *testing.T, srv *httptest.Server, appid, secret, code string) answer {
	t.Helper()
	q := url.Values{"appid": {appid}, "secret": {secret}, "js_code": {code},
		"grant_type": {"authorization_code"}}
	return get(t, srv.URL+"/sns/jscode2session?"+q.Encode())
}

// stableToken calls /cgi-bin/stable_token.
func stableToken(t *testing.T, srv *httptest.Server, appid, secret string, force bool) answer {
	t.Helper()
	return post(t, srv.URL+"/cgi-bin/stable_token", map[string]any{
		"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force})
}

func wantErrcode(t *testing.T, a answer, code int) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Errorf("HTTP %d, want 200 (WeChat answers errors with 200): %s", a.status, a.raw)
	}
	if a.errcode() != code {
		t.Fatalf("errcode %d, want %d: %s", a.errcode(), code, a.raw)
	}
	if a.str("errmsg") == "" {
		t.Errorf("no errmsg: %s", a.raw)
	}
}

func wantSession(t *testing.T, a answer) {
	t.Helper()
	if a.status != http.StatusOK || a.errcode() != 0 {
		t.Fatalf("want a session, got HTTP %d %s", a.status, a.raw)
	}
	if _, has := a.body["errcode"]; has {
		t.Errorf("success carries errcode: %s", a.raw)
	}
	if oid := a.str("openid"); len(oid) != 28 || oid[0] != 'o' {
		t.Errorf("openid %q: want 28 characters starting with o", oid)
	}
	key, err := base64.StdEncoding.DecodeString(a.str("session_key"))
	if err != nil || len(key) != 16 || len(a.str("session_key")) != 24 {
		t.Errorf("session_key %q: want 16 bytes in 24 base64 characters", a.str("session_key"))
	}
}

func TestCode2SessionCodeIsSingleUse(t *testing.T) {
	e, srv, _ := testEmulator(t)
	code, openid := e.MintCode(appA, "alice")
	a := code2Session(t, srv, appA, secretA, code)
	wantSession(t, a)
	if a.str("openid") != openid {
		t.Errorf("openid %q, MintCode said %q", a.str("openid"), openid)
	}
	wantErrcode(t, code2Session(t, srv, appA, secretA, code), 40029)
	wantErrcode(t, code2Session(t, srv, appA, secretA, "0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P"), 40029)
}

func TestCode2SessionCodeExpiresAfterFiveMinutes(t *testing.T) {
	e, srv, clk := testEmulator(t)
	fresh, _ := e.MintCode(appA, "alice")
	stale, _ := e.MintCode(appA, "alice")
	clk.Advance(5*time.Minute - time.Second)
	wantSession(t, code2Session(t, srv, appA, secretA, fresh))
	clk.Advance(time.Second)
	wantErrcode(t, code2Session(t, srv, appA, secretA, stale), 40029)
}

func TestCode2SessionChecksCredentials(t *testing.T) {
	e, srv, _ := testEmulator(t)
	code, _ := e.MintCode(appA, "alice")
	wantErrcode(t, code2Session(t, srv, appA, "wrong", code), 40125)
	wantErrcode(t, code2Session(t, srv, "wxnotanapp00000000", secretA, code), 40013)
	wantErrcode(t, code2Session(t, srv, "", secretA, code), 41002)
	wantErrcode(t, code2Session(t, srv, appA, "", code), 41004)
	wantErrcode(t, code2Session(t, srv, appA, secretA, ""), 41008)
	// A code of another app is invalid there (WeChat: "an appid mismatch also gives 40029").
	wantErrcode(t, code2Session(t, srv, appU, secretU, code), 40029)
	q := url.Values{"appid": {appA}, "secret": {secretA}, "js_code": {code}, "grant_type": {"client_credential"}}
	wantErrcode(t, get(t, srv.URL+"/sns/jscode2session?"+q.Encode()), 40002)
	// None of the refusals used the code up.
	wantSession(t, code2Session(t, srv, appA, secretA, code))
}

func TestCode2SessionAnswersTextPlain(t *testing.T) {
	e, srv, _ := testEmulator(t)
	code, _ := e.MintCode(appA, "alice")
	if ct := code2Session(t, srv, appA, secretA, code).contentType; ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
}

func TestCode2SessionNewSessionKeyOnEveryLogin(t *testing.T) {
	e, srv, _ := testEmulator(t)
	c1, _ := e.MintCode(appA, "alice")
	c2, _ := e.MintCode(appA, "alice")
	first := code2Session(t, srv, appA, secretA, c1)
	second := code2Session(t, srv, appA, secretA, c2)
	wantSession(t, first)
	wantSession(t, second)
	if first.str("openid") != second.str("openid") {
		t.Errorf("openid changed between logins: %q, %q", first.str("openid"), second.str("openid"))
	}
	if first.str("session_key") == second.str("session_key") {
		t.Fatal("the second login kept the session_key")
	}
	if k, _ := e.sessionKey(appA, second.str("openid")); k != second.str("session_key") {
		t.Error("the valid key is not the latest one")
	}
	if OpenID(appA, "alice") == OpenID(appA, "bob") || OpenID(appA, "alice") == OpenID(appU, "alice") {
		t.Error("openids must differ per user and per app")
	}
}

func TestCode2SessionUnionID(t *testing.T) {
	e, srv, _ := testEmulator(t)
	c, _ := e.MintCode(appA, "alice")
	a := code2Session(t, srv, appA, secretA, c)
	if _, has := a.body["unionid"]; has {
		t.Errorf("app without Open Platform binding got unionid: %s", a.raw)
	}
	cu, _ := e.MintCode(appU, "alice")
	cv, _ := e.MintCode(appV, "alice")
	u, v := code2Session(t, srv, appU, secretU, cu), code2Session(t, srv, appV, secretV, cv)
	if u.str("unionid") == "" || u.str("unionid") != v.str("unionid") {
		t.Errorf("unionid %q and %q: want one non-empty unionid across bound apps", u.str("unionid"), v.str("unionid"))
	}
	if u.str("openid") == v.str("openid") {
		t.Error("openid must differ per app even when unionid is shared")
	}
}

func TestCode2SessionRateLimitPerUserPerMinute(t *testing.T) {
	e, srv, clk := testEmulator(t)
	codes := make([]string, 101)
	for i := range codes {
		codes[i], _ = e.MintCode(appA, "alice")
	}
	for i, c := range codes[:100] {
		if a := code2Session(t, srv, appA, secretA, c); a.errcode() != 0 {
			t.Fatalf("call %d: %s", i+1, a.raw)
		}
	}
	wantErrcode(t, code2Session(t, srv, appA, secretA, codes[100]), 45011)
	bob, _ := e.MintCode(appA, "bob")
	wantSession(t, code2Session(t, srv, appA, secretA, bob))
	clk.Advance(time.Minute)
	wantSession(t, code2Session(t, srv, appA, secretA, codes[100]))
}

func TestCode2SessionBlockedUser(t *testing.T) {
	e, srv, _ := testEmulator(t)
	if a := post(t, srv.URL+"/_emulator/users/mallory/block", nil); a.status != http.StatusNoContent {
		t.Fatalf("block: HTTP %d %s", a.status, a.raw)
	}
	c, _ := e.MintCode(appA, "mallory")
	wantErrcode(t, code2Session(t, srv, appA, secretA, c), 40226)
	other, _ := e.MintCode(appA, "alice")
	wantSession(t, code2Session(t, srv, appA, secretA, other))
	post(t, srv.URL+"/_emulator/users/mallory/unblock", nil)
	c, _ = e.MintCode(appA, "mallory")
	wantSession(t, code2Session(t, srv, appA, secretA, c))
}

func TestCode2SessionWrongMethod(t *testing.T) {
	_, srv, _ := testEmulator(t)
	wantErrcode(t, post(t, srv.URL+"/sns/jscode2session", map[string]string{}), 43001)
}

func TestStableTokenSameWhileValid(t *testing.T) {
	_, srv, clk := testEmulator(t)
	first := stableToken(t, srv, appA, secretA, false)
	if first.str("access_token") == "" || first.body["expires_in"] != float64(7200) {
		t.Fatalf("first token: %s", first.raw)
	}
	clk.Advance(time.Hour)
	again := stableToken(t, srv, appA, secretA, false)
	if again.str("access_token") != first.str("access_token") {
		t.Error("normal mode changed the token while it was valid")
	}
	if again.body["expires_in"] != float64(3600) {
		t.Errorf("expires_in %v after an hour, want 3600", again.body["expires_in"])
	}
	if other := stableToken(t, srv, appU, secretU, false); other.str("access_token") == first.str("access_token") {
		t.Error("two apps share a token")
	}
}

func TestStableTokenRenewedInLastFiveMinutes(t *testing.T) {
	e, srv, clk := testEmulator(t)
	old := stableToken(t, srv, appA, secretA, false).str("access_token")
	clk.Advance(7200*time.Second - 5*time.Minute - time.Second)
	if a := stableToken(t, srv, appA, secretA, false); a.str("access_token") != old {
		t.Fatalf("renewed with more than 5 minutes left: %s", a.raw)
	}
	clk.Advance(2 * time.Second)
	renewed := stableToken(t, srv, appA, secretA, false)
	if renewed.str("access_token") == old || renewed.body["expires_in"] != float64(7200) {
		t.Fatalf("want a new 7200 s token with under 5 minutes left: %s", renewed.raw)
	}
	if _, code, _ := e.CheckToken(withToken(old)); code != 0 {
		t.Errorf("the old token must stay valid until its own expiry, got errcode %d", code)
	}
	clk.Advance(5 * time.Minute)
	if _, code, _ := e.CheckToken(withToken(old)); code != 42001 {
		t.Errorf("the old token after its expiry: errcode %d, want 42001", code)
	}
	if _, code, _ := e.CheckToken(withToken(renewed.str("access_token"))); code != 0 {
		t.Errorf("the new token: errcode %d", code)
	}
}

func TestStableTokenExpiresInAtLeast300(t *testing.T) {
	_, srv, clk := testEmulator(t)
	for i := 0; i < 500; i++ {
		a := stableToken(t, srv, appA, secretA, false)
		if in := a.body["expires_in"].(float64); in < 300 || in > 7200 {
			t.Fatalf("expires_in %v at step %d", in, i)
		}
		clk.Advance(37 * time.Second)
	}
}

func TestStableTokenForceRefreshLimits(t *testing.T) {
	e, srv, clk := testEmulator(t)
	old := stableToken(t, srv, appA, secretA, false).str("access_token")
	forced := stableToken(t, srv, appA, secretA, true)
	if forced.str("access_token") == "" || forced.str("access_token") == old {
		t.Fatalf("force_refresh did not issue a new token: %s", forced.raw)
	}
	if _, code, _ := e.CheckToken(withToken(old)); code != 40001 {
		t.Errorf("the token before force_refresh: errcode %d, want 40001", code)
	}
	if a := stableToken(t, srv, appA, secretA, false); a.str("access_token") != forced.str("access_token") {
		t.Error("normal mode after force_refresh must return the forced token")
	}
	// At least 30 s apart.
	clk.Advance(29 * time.Second)
	wantErrcode(t, stableToken(t, srv, appA, secretA, true), 45011)
	clk.Advance(time.Second)
	// 20 per day: one used above, 19 more succeed, the 21st is refused.
	for i := 2; i <= 20; i++ {
		if a := stableToken(t, srv, appA, secretA, true); a.errcode() != 0 {
			t.Fatalf("force_refresh %d: %s", i, a.raw)
		}
		clk.Advance(30 * time.Second)
	}
	wantErrcode(t, stableToken(t, srv, appA, secretA, true), 45009)
	// The quota resets at midnight China time (UTC+8): 16:00 UTC.
	now := clk.Now()
	clk.Advance(time.Date(now.Year(), now.Month(), now.Day(), 16, 0, 0, 0, time.UTC).Sub(now))
	if a := stableToken(t, srv, appA, secretA, true); a.errcode() != 0 {
		t.Fatalf("force_refresh the next day: %s", a.raw)
	}
}

func TestStableTokenRequestChecks(t *testing.T) {
	_, srv, _ := testEmulator(t)
	wantErrcode(t, stableToken(t, srv, appA, "wrong", false), 40125)
	wantErrcode(t, stableToken(t, srv, "wxnotanapp00000000", secretA, false), 40013)
	wantErrcode(t, post(t, srv.URL+"/cgi-bin/stable_token", map[string]any{
		"grant_type": "authorization_code", "appid": appA, "secret": secretA}), 40002)
	wantErrcode(t, post(t, srv.URL+"/cgi-bin/stable_token", []byte("grant_type=client_credential")), 47001)
	wantErrcode(t, get(t, srv.URL+"/cgi-bin/stable_token"), 43002)
}

func withToken(tok string) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/wxa/anything?access_token="+url.QueryEscape(tok), nil)
}

func TestCheckToken(t *testing.T) {
	e, srv, clk := testEmulator(t)
	tok := stableToken(t, srv, appU, secretU, false).str("access_token")
	if appid, code, _ := e.CheckToken(withToken(tok)); code != 0 || appid != appU {
		t.Errorf("valid token: appid %q errcode %d", appid, code)
	}
	if _, code, _ := e.CheckToken(httptest.NewRequest(http.MethodPost, "/wxa/x", nil)); code != 41001 {
		t.Errorf("missing token: errcode %d, want 41001", code)
	}
	if _, code, _ := e.CheckToken(withToken("emu_forged")); code != 40001 {
		t.Errorf("unknown token: errcode %d, want 40001", code)
	}
	clk.Advance(7200 * time.Second)
	if _, code, _ := e.CheckToken(withToken(tok)); code != 42001 {
		t.Errorf("expired token: errcode %d, want 42001", code)
	}
	// requireToken writes WeChat's error.
	rec := httptest.NewRecorder()
	if _, ok := e.requireToken(rec, withToken(tok)); ok || !strings.Contains(rec.Body.String(), `"errcode":42001`) {
		t.Errorf("requireToken: ok %v body %s", ok, rec.Body)
	}
}

func TestControlAPI(t *testing.T) {
	_, srv, _ := testEmulator(t)
	minted := post(t, srv.URL+"/_emulator/login-code", map[string]string{"user": "alice", "appid": appU})
	if minted.status != http.StatusOK || minted.str("code") == "" || minted.str("openid") != OpenID(appU, "alice") {
		t.Fatalf("login-code: %d %s", minted.status, minted.raw)
	}
	wantSession(t, code2Session(t, srv, appU, secretU, minted.str("code")))

	for _, bad := range []any{map[string]string{"user": ""}, map[string]string{"user": "a/b"},
		map[string]string{"user": "alice", "appid": "wxnope"}, map[string]string{"user": "alice"}} {
		if a := post(t, srv.URL+"/_emulator/login-code", bad); a.status != http.StatusBadRequest {
			t.Errorf("login-code %v: HTTP %d %s, want 400", bad, a.status, a.raw)
		}
	}

	// Faults: the next call answers -1, then an HTTP 502, then normally.
	for _, f := range []map[string]any{
		{"path": "/cgi-bin/stable_token", "count": 1, "errcode": -1},
	} {
		if a := post(t, srv.URL+"/_emulator/faults", f); a.status != http.StatusNoContent {
			t.Fatalf("faults: %d %s", a.status, a.raw)
		}
	}
	wantErrcode(t, stableToken(t, srv, appA, secretA, false), -1)
	post(t, srv.URL+"/_emulator/faults", map[string]any{"path": "/cgi-bin/stable_token", "count": 1, "http_status": 502})
	if a := stableToken(t, srv, appA, secretA, false); a.status != http.StatusBadGateway {
		t.Errorf("http_status fault: HTTP %d", a.status)
	}
	if a := stableToken(t, srv, appA, secretA, false); a.str("access_token") == "" {
		t.Errorf("after the faults: %s", a.raw)
	}
	if a := post(t, srv.URL+"/_emulator/faults", map[string]any{"path": "nope", "count": 1}); a.status != http.StatusBadRequest {
		t.Errorf("bad fault path: HTTP %d", a.status)
	}

	calls := get(t, srv.URL+"/_emulator/calls")
	got := calls.body["calls"].(map[string]any)
	if got["/cgi-bin/stable_token"] != float64(3) || got["/sns/jscode2session"] != float64(1) {
		t.Errorf("calls: %s", calls.raw)
	}
	if a := get(t, srv.URL+"/_emulator/nope"); a.status != http.StatusNotFound {
		t.Errorf("unknown control path: HTTP %d", a.status)
	}
	wantErrcode(t, get(t, srv.URL+"/cgi-bin/nope"), 40066)
}

func TestSlowFaultDelaysThenAnswers(t *testing.T) {
	e, srv, _ := testEmulator(t)
	e.Slow("/cgi-bin/stable_token", 1, 50*time.Millisecond)
	start := time.Now()
	a := stableToken(t, srv, appA, secretA, false)
	if a.str("access_token") == "" {
		t.Fatalf("slow call: %s", a.raw)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("the slow fault did not delay the answer")
	}
	if e.Calls("/cgi-bin/stable_token") != 1 {
		t.Errorf("calls %d", e.Calls("/cgi-bin/stable_token"))
	}
}

func TestDefaultDevApp(t *testing.T) {
	e := New(Options{})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	minted := post(t, srv.URL+"/_emulator/login-code", map[string]string{"user": "alice"})
	wantSession(t, code2Session(t, srv, DevAppID, DevSecret, minted.str("code")))
}

func TestConcurrentLogins(t *testing.T) {
	e, srv, _ := testEmulator(t)
	var wg sync.WaitGroup
	keys := make(chan string, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := e.MintCode(appA, "alice")
			a := code2Session(t, srv, appA, secretA, c)
			keys <- a.str("session_key")
		}()
	}
	wg.Wait()
	close(keys)
	seen := map[string]bool{}
	for k := range keys {
		if k == "" || seen[k] {
			t.Fatalf("empty or repeated session_key %q", k)
		}
		seen[k] = true
	}
}
