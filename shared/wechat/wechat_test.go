package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// The client is tested against the emulator over loopback HTTP, with a real
// bbolt store shared by the client instances (as the fleet shares one store).

const (
	testApp    = "wxclienttest00001"
	testSecret = "s3cr3t-do-not-leak-0123456789"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one emulated WeChat, one store and a clock.
type env struct {
	emu   *emulator.Emulator
	srv   *httptest.Server
	store store.Store
	clk   *clock

	rejectNext atomic.Int64 // errcode the next /test/json call answers
	stableBody atomic.Value // last stable_token request body
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ev := &env{clk: &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}}
	ev.emu = emulator.New(emulator.Options{Now: ev.clk.Now,
		Apps: map[string]emulator.App{testApp: {Secret: testSecret}}})
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{Now: ev.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ev.store = st

	// The emulator plus two token-authenticated test APIs, standing in for the
	// JSON and image APIs that sibling files add.
	mux := http.NewServeMux()
	emu := ev.emu.Handler()
	mux.HandleFunc("/cgi-bin/stable_token", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev.stableBody.Store(string(b))
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		emu.ServeHTTP(w, r)
	})
	mux.Handle("/", emu)
	mux.HandleFunc("/test/json", func(w http.ResponseWriter, r *http.Request) {
		appid, code, msg := ev.emu.CheckToken(r)
		if code == 0 {
			if c := ev.rejectNext.Swap(0); c != 0 {
				code, msg = int(c), "rejected by the test"
			}
		}
		if code != 0 {
			fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg)
			return
		}
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "ok", "appid": appid, "echo": in["say"]})
	})
	mux.HandleFunc("/test/image", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Page string }
		json.NewDecoder(r.Body).Decode(&in)
		if _, code, msg := ev.emu.CheckToken(r); code != 0 {
			w.Header().Set("Content-Type", "application/json; encoding=utf-8")
			fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg)
			return
		}
		switch in.Page {
		case "ok":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write([]byte("\xff\xd8\xff\xe0fake-jpeg"))
		case "text":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(`{"errcode":40169,"errmsg":"invalid length for scene"}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"errcode":41030,"errmsg":"invalid page"}`))
		}
	})
	ev.srv = httptest.NewServer(mux)
	t.Cleanup(ev.srv.Close)
	return ev
}

func (ev *env) client(timeout time.Duration) *Client {
	return New(Config{AppID: testApp, Secret: testSecret, BaseURL: ev.srv.URL, Store: ev.store,
		Now: ev.clk.Now, Timeout: timeout})
}

func (ev *env) stableCalls() int { return ev.emu.Calls("/cgi-bin/stable_token") }

// statusOf mirrors shared/httpapi's kind → status table for the kinds this
// package returns (importing httpapi here would be an import cycle).
var statusOf = map[apperr.Kind]int{apperr.Invalid: 400, apperr.Forbidden: 403,
	apperr.RateLimited: 429, apperr.Upstream: 502, apperr.Internal: 500}

// wantErr checks an error's apperr code and the HTTP status its kind becomes.
func wantErr(t *testing.T, err error, code string, status int) *apperr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	e := apperr.From(err)
	if e.Code != code || statusOf[e.Kind] != status {
		t.Fatalf("error %v: code %q kind %d, want %q (HTTP %d)", err, e.Code, e.Kind, code, status)
	}
	return e
}

func TestCode2Session(t *testing.T) {
	ev := newEnv(t)
	code, openid := ev.emu.MintCode(testApp, "alice")
	s, err := ev.client(0).Code2Session(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != openid || len(s.SessionKey) != 24 || s.UnionID != "" {
		t.Errorf("session %+v", s)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", s, s, s), s.SessionKey) {
		t.Error("formatting a Session shows the session_key")
	}
	// The code is used up: WeChat's 40029 becomes invalid_code.
	_, err = ev.client(0).Code2Session(context.Background(), code)
	wantErr(t, err, "invalid_code", 400)
}

func TestCode2SessionRefusesMalformedCodesWithoutACall(t *testing.T) {
	ev := newEnv(t)
	c := ev.client(0)
	for _, code := range []string{"", "has space", "a&secret=x", strings.Repeat("a", 129), "café"} {
		_, err := c.Code2Session(context.Background(), code)
		wantErr(t, err, "invalid_code", 400)
	}
	if n := ev.emu.Calls("/sns/jscode2session"); n != 0 {
		t.Errorf("%d calls to WeChat for malformed codes", n)
	}
}

func TestErrcodeMapping(t *testing.T) {
	for _, tc := range []struct {
		errcode int
		code    string
		status  int
	}{
		{40029, "invalid_code", 400},
		{45011, "rate_limited", 429},
		{40226, "login_blocked", 403},
		{-1, "wechat_unavailable", 502},
		{40013, "wechat_error", 502},
		{47001, "wechat_error", 502},
	} {
		t.Run(fmt.Sprint(tc.errcode), func(t *testing.T) {
			ev := newEnv(t)
			ev.emu.Fail("/sns/jscode2session", 1, tc.errcode)
			code, _ := ev.emu.MintCode(testApp, "alice")
			_, err := ev.client(0).Code2Session(context.Background(), code)
			e := wantErr(t, err, tc.code, tc.status)
			if tc.code == "wechat_error" && !strings.Contains(e.Message, fmt.Sprint(tc.errcode)) {
				t.Errorf("message %q does not name errcode %d", e.Message, tc.errcode)
			}
			if tc.code == "rate_limited" && e.RetryAfter != time.Minute {
				t.Errorf("RetryAfter %v", e.RetryAfter)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Errcode != tc.errcode {
				t.Errorf("cause %v: want *APIError with errcode %d", err, tc.errcode)
			}
		})
	}
}

func TestRealRefusalsMap(t *testing.T) {
	ev := newEnv(t)
	ev.emu.Block("mallory")
	code, _ := ev.emu.MintCode(testApp, "mallory")
	_, err := ev.client(0).Code2Session(context.Background(), code)
	wantErr(t, err, "login_blocked", 403)

	bad := New(Config{AppID: testApp, Secret: "wrong-secret", BaseURL: ev.srv.URL, Store: ev.store, Now: ev.clk.Now})
	code, _ = ev.emu.MintCode(testApp, "alice")
	_, err = bad.Code2Session(context.Background(), code)
	if e := wantErr(t, err, "wechat_error", 502); !strings.Contains(e.Message, "40125") {
		t.Errorf("message %q does not name 40125", e.Message)
	}
	_, err = bad.AccessToken(context.Background())
	wantErr(t, err, "wechat_error", 502)
}

func TestTransportFailuresAre502(t *testing.T) {
	ev := newEnv(t)
	code, _ := ev.emu.MintCode(testApp, "alice")

	ev.emu.Slow("/sns/jscode2session", 1, 2*time.Second)
	_, err := ev.client(50*time.Millisecond).Code2Session(context.Background(), code)
	wantErr(t, err, "wechat_unavailable", 502)

	ev.emu.Slow("/cgi-bin/stable_token", 1, 2*time.Second)
	_, err = ev.client(50 * time.Millisecond).AccessToken(context.Background())
	wantErr(t, err, "wechat_unavailable", 502)

	if a := postFault(t, ev, map[string]any{"path": "/sns/jscode2session", "count": 1, "http_status": 503}); a != 204 {
		t.Fatalf("fault: HTTP %d", a)
	}
	_, err = ev.client(0).Code2Session(context.Background(), code)
	wantErr(t, err, "wechat_unavailable", 502)

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>gateway</html>"))
	}))
	defer html.Close()
	c := New(Config{AppID: testApp, Secret: testSecret, BaseURL: html.URL, Store: ev.store, Now: ev.clk.Now})
	_, err = c.Code2Session(context.Background(), code)
	wantErr(t, err, "wechat_unavailable", 502)

	c = New(Config{AppID: testApp, Secret: testSecret, BaseURL: closedURL(t), Store: ev.store, Now: ev.clk.Now})
	_, err = c.Code2Session(context.Background(), code)
	wantErr(t, err, "wechat_unavailable", 502)

	// The code survived every failure above.
	if _, err := ev.client(0).Code2Session(context.Background(), code); err != nil {
		t.Fatal(err)
	}
}

func postFault(t *testing.T, ev *env, f map[string]any) int {
	b, _ := json.Marshal(f)
	resp, err := http.Post(ev.srv.URL+"/_emulator/faults", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// closedURL is the address of a listener that is already closed.
func closedURL(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestNotConfigured(t *testing.T) {
	_, err := New(Config{}).Code2Session(context.Background(), "abc")
	wantErr(t, err, "wechat_not_configured", 500)
	_, err = New(Config{AppID: testApp, Secret: testSecret}).AccessToken(context.Background())
	wantErr(t, err, "wechat_not_configured", 500)
}

func TestAccessTokenCachedInStoreAndShared(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	tok, err := ev.client(0).AccessToken(ctx)
	if err != nil || tok == "" {
		t.Fatalf("token %q, %v", tok, err)
	}
	it, err := ev.store.Get(ctx, store.Key{PK: "wechat#token", SK: testApp})
	if err != nil {
		t.Fatalf("the token is not in the store: %v", err)
	}
	var cached cachedToken
	json.Unmarshal(it.Value, &cached)
	if want := ev.clk.Now().Add(7200*time.Second - time.Minute); cached.AccessToken != tok || !cached.ExpiresAt.Equal(want) {
		t.Errorf("cached %q until %v, want %q until %v (a minute before WeChat's expiry)",
			cached.AccessToken, cached.ExpiresAt, tok, want)
	}
	// Another instance (a new Client, as a cold function has) uses it: no WeChat call.
	other, err := ev.client(0).AccessToken(ctx)
	if err != nil || other != tok {
		t.Fatalf("second instance: %q, %v", other, err)
	}
	if n := ev.stableCalls(); n != 1 {
		t.Errorf("%d stable_token calls, want 1", n)
	}
	if body, _ := ev.stableBody.Load().(string); strings.Contains(body, "force_refresh") ||
		!strings.Contains(body, `"grant_type":"client_credential"`) {
		t.Errorf("stable_token body %s", body)
	}

	// When the cached copy expires, one instance fetches the renewed token.
	ev.clk.Advance(7200*time.Second - time.Minute)
	renewed, err := ev.client(0).AccessToken(ctx)
	if err != nil || renewed == tok {
		t.Fatalf("after expiry: %q (old %q), %v", renewed, tok, err)
	}
	if n := ev.stableCalls(); n != 2 {
		t.Errorf("%d stable_token calls, want 2", n)
	}
}

func TestAccessTokenLeaseOneRefresherAcrossInstances(t *testing.T) {
	ev := newEnv(t)
	// A slow WeChat widens the window in which the others must wait.
	ev.emu.Slow("/cgi-bin/stable_token", 1, 150*time.Millisecond)
	clients := []*Client{ev.client(0), ev.client(0), ev.client(0), ev.client(0)}
	var wg sync.WaitGroup
	tokens := make(chan string, 20)
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(c *Client) {
			defer wg.Done()
			tok, err := c.AccessToken(context.Background())
			tokens <- tok
			errs <- err
		}(clients[i%4])
	}
	wg.Wait()
	close(tokens)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	first := ""
	for tok := range tokens {
		if first == "" {
			first = tok
		}
		if tok != first {
			t.Fatalf("instances got different tokens")
		}
	}
	if n := ev.stableCalls(); n != 1 {
		t.Errorf("%d stable_token calls, want exactly 1", n)
	}
	if _, err := ev.store.Get(context.Background(), store.Key{PK: "wechat#token-lease", SK: testApp}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the lease was not released: %v", err)
	}
}

func TestFailedRefreshReleasesLease(t *testing.T) {
	ev := newEnv(t)
	ev.emu.Fail("/cgi-bin/stable_token", 1, -1)
	_, err := ev.client(0).AccessToken(context.Background())
	wantErr(t, err, "wechat_unavailable", 502)
	// The next caller takes the lease at once rather than waiting it out.
	if _, err := ev.client(0).AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ev.stableCalls(); n != 2 {
		t.Errorf("%d stable_token calls, want 2", n)
	}
}

func TestPostJSON(t *testing.T) {
	ev := newEnv(t)
	var out struct {
		AppID string `json:"appid"`
		Echo  string `json:"echo"`
	}
	if err := ev.client(0).postJSON(context.Background(), "/test/json", map[string]string{"say": "hi"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.AppID != testApp || out.Echo != "hi" {
		t.Errorf("answer %+v", out)
	}
}

func TestPostForBytesBranchesOnContentType(t *testing.T) {
	ev := newEnv(t)
	c := ev.client(0)
	ct, data, err := c.postForBytes(context.Background(), "/test/image", map[string]string{"page": "ok"})
	if err != nil || ct != "image/jpeg" || !strings.HasPrefix(string(data), "\xff\xd8") {
		t.Fatalf("image: %q %q %v", ct, data, err)
	}
	_, _, err = c.postForBytes(context.Background(), "/test/image", map[string]string{"page": "missing"})
	if e := wantErr(t, err, "wechat_error", 502); !strings.Contains(e.Message, "41030") {
		t.Errorf("message %q", e.Message)
	}
	_, _, err = c.postForBytes(context.Background(), "/test/image", map[string]string{"page": "text"})
	if e := wantErr(t, err, "wechat_error", 502); !strings.Contains(e.Message, "40169") {
		t.Errorf("message %q", e.Message)
	}
}

// forceRefresh invalidates every token of the app, as an operator's
// force_refresh (or a leak response) would.
func forceRefresh(t *testing.T, ev *env) {
	t.Helper()
	resp, err := http.Post(ev.srv.URL+"/cgi-bin/stable_token", "application/json", strings.NewReader(
		fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q,"force_refresh":true}`, testApp, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "access_token") {
		t.Fatalf("force_refresh: %s", b)
	}
}

func TestInvalidTokenIsDroppedAndRetriedOnce(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	c := ev.client(0)
	old, _ := c.AccessToken(ctx)
	forceRefresh(t, ev) // old now answers 40001
	if err := c.postJSON(ctx, "/test/json", map[string]string{"say": "x"}, nil); err != nil {
		t.Fatalf("the retry with a fresh token failed: %v", err)
	}
	if now, _ := c.AccessToken(ctx); now == old {
		t.Error("the rejected token is still in use")
	}

	// 42001 (expired) takes the same path.
	ev.rejectNext.Store(42001)
	if err := c.postJSON(ctx, "/test/json", map[string]string{}, nil); err != nil {
		t.Fatalf("after 42001: %v", err)
	}
}

func TestRetriesOnlyOnce(t *testing.T) {
	ev := newEnv(t)
	always := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/stable_token" {
			ev.srv.Config.Handler.ServeHTTP(w, r)
			return
		}
		w.Write([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
	}))
	defer always.Close()
	c := New(Config{AppID: testApp, Secret: testSecret, BaseURL: always.URL, Store: ev.store, Now: ev.clk.Now})
	err := c.postJSON(context.Background(), "/test/json", map[string]string{}, nil)
	if e := wantErr(t, err, "wechat_error", 502); !strings.Contains(e.Message, "40001") {
		t.Errorf("message %q", e.Message)
	}
}

func TestDropsTheTokenOnlyIfUnchanged(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	a, b := ev.client(0), ev.client(0)
	t1, _ := a.AccessToken(ctx)
	if tb, _ := b.AccessToken(ctx); tb != t1 {
		t.Fatal("the instances do not share the token")
	}
	forceRefresh(t, ev) // t1 is now invalid; both instances still hold it
	calls := ev.stableCalls()

	// A meets 40001 first: drops t1, stores t2.
	if err := a.postJSON(ctx, "/test/json", map[string]string{}, nil); err != nil {
		t.Fatal(err)
	}
	key := store.Key{PK: "wechat#token", SK: testApp}
	stored, err := ev.store.Get(ctx, key)
	if err != nil || strings.Contains(string(stored.Value), t1) {
		t.Fatalf("after A's retry the store holds %s, %v", stored.Value, err)
	}
	// B then meets 40001 with t1: it must not delete A's t2, only reread it.
	if err := b.postJSON(ctx, "/test/json", map[string]string{}, nil); err != nil {
		t.Fatal(err)
	}
	after, err := ev.store.Get(ctx, key)
	if err != nil || after.Version != stored.Version || string(after.Value) != string(stored.Value) {
		t.Errorf("B replaced the token A stored: before v%d %s, after v%d %s (%v)",
			stored.Version, stored.Value, after.Version, after.Value, err)
	}
	if n := ev.stableCalls() - calls; n != 1 {
		t.Errorf("%d stable_token calls after the invalidation, want 1 (A's)", n)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	code, _ := ev.emu.MintCode(testApp, "alice")
	s, err := ev.client(0).Code2Session(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := ev.client(0).AccessToken(ctx)
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }

	dead := New(Config{AppID: testApp, Secret: testSecret, BaseURL: closedURL(t), Store: ev.store, Now: ev.clk.Now})
	collect(dead.Code2Session(ctx, code))
	errs = append(errs, dead.postJSON(ctx, "/test/json", nil, nil))
	ev.emu.Slow("/sns/jscode2session", 1, 2*time.Second)
	collect(ev.client(50*time.Millisecond).Code2Session(ctx, code))
	collect(ev.client(0).Code2Session(ctx, code)) // used code
	bad := New(Config{AppID: testApp, Secret: testSecret + "x", BaseURL: ev.srv.URL, Store: ev.store, Now: ev.clk.Now})
	collect(bad.Code2Session(ctx, code))
	ev.store.Write(ctx, store.Delete(store.Key{PK: "wechat#token", SK: testApp})) // force a fetch
	collect(bad.AccessToken(ctx))
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		text := fmt.Sprintf("%v %+v %#v", err, err, apperr.From(err).Message)
		for _, secret := range []string{testSecret, s.SessionKey, tok} {
			if strings.Contains(text, secret) {
				t.Errorf("case %d: error %q holds a secret", i, text)
			}
		}
	}
}
