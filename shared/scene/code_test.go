package scene

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

const (
	testApp    = "wxscenetest000001"
	testSecret = "scene-test-secret-0123456789"
	codePath   = "/wxa/getwxacodeunlimit"
)

type codeEnv struct {
	emu *emulator.Emulator
	svc *Service

	mu     sync.Mutex
	bodies []string // getwxacodeunlimit request bodies
}

func newCodeEnv(t *testing.T, st store.Store, clk *storetest.Clock) *codeEnv {
	ev := &codeEnv{emu: emulator.New(emulator.Options{Now: clk.Now,
		Apps: map[string]emulator.App{testApp: {Secret: testSecret}}})}
	h := ev.emu.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == codePath {
			b, _ := io.ReadAll(r.Body)
			ev.mu.Lock()
			ev.bodies = append(ev.bodies, string(b))
			ev.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	wc := wechat.New(wechat.Config{AppID: testApp, Secret: testSecret, BaseURL: srv.URL, Store: st, Now: clk.Now})
	ev.svc = New(st, Options{WeChat: wc, Now: clk.Now, UserLimit: 2,
		IsStaff: func(_ context.Context, openid string) (bool, error) { return openid == "staff1", nil }})
	return ev
}

func (ev *codeEnv) calls() int { return ev.emu.Calls(codePath) }

// decode reads the QR code in a PNG with gozxing.
func decode(t *testing.T, img wechat.Image) url.Values {
	t.Helper()
	if img.ContentType != "image/png" {
		t.Fatalf("content type %q", img.ContentType)
	}
	m, _, err := image.Decode(bytes.NewReader(img.Data))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		t.Fatal(err)
	}
	// PURE_BARCODE: the image is a code and nothing else. Without it the
	// detector misses about one generated code in fourteen.
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the image is not a readable QR code: %v", err)
	}
	text := res.GetText()
	rest, ok := strings.CutPrefix(text, "minifn-emulator:wxacode?")
	if !ok {
		t.Fatalf("QR text %q", text)
	}
	q, _ := url.ParseQuery(rest)
	return q
}

func TestCodeImageCacheAndBody(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *storetest.Clock) {
		ev := newCodeEnv(t, st, clk)
		ctx := context.Background()
		req := CodeRequest{Page: "pages/product/detail", Params: Params{"sku": "tea-01", "from": "poster"}}
		c, err := ev.svc.Code(ctx, Caller{Admin: true}, req)
		if err != nil {
			t.Fatal(err)
		}
		q := decode(t, c.Image)
		if q.Get("page") != req.Page || q.Get("scene") != c.Scene || q.Get("appid") != testApp || q.Get("env_version") != "release" {
			t.Fatalf("the code encodes %v, want page %s scene %s", q, req.Page, c.Scene)
		}
		if e, err := ev.svc.Lookup(ctx, c.Scene); err != nil || e.Params["sku"] != "tea-01" || e.Page != req.Page {
			t.Fatalf("scene %s → %+v %v", c.Scene, e, err)
		}
		if ev.calls() != 1 || c.Cached {
			t.Fatalf("%d WeChat calls (cached %v), want 1", ev.calls(), c.Cached)
		}
		// check_path and env_version are always sent, explicitly.
		if b := ev.bodies[0]; !strings.Contains(b, `"check_path":true`) || !strings.Contains(b, `"env_version":"release"`) {
			t.Errorf("request body %s", b)
		}

		again, err := ev.svc.Code(ctx, Caller{Admin: true}, CodeRequest{Page: req.Page, Params: Params{"from": "poster", "sku": "tea-01"}})
		if err != nil || !again.Cached || again.Scene != c.Scene || !bytes.Equal(again.Image.Data, c.Image.Data) {
			t.Fatalf("second request: cached %v scene %s, %v", again.Cached, again.Scene, err)
		}
		if ev.calls() != 1 {
			t.Fatalf("the cached request called WeChat: %d calls", ev.calls())
		}

		// Everything that shapes the image is in the cache key.
		f := false
		for i, r := range []CodeRequest{
			{Page: req.Page, Params: req.Params, Width: 600},
			{Page: req.Page, Params: req.Params, IsHyaline: true},
			{Page: req.Page, Params: req.Params, LineColor: &Color{R: 200}},
			{Page: req.Page, Params: req.Params, CheckPath: &f},
			{Page: req.Page, Params: req.Params, EnvVersion: "develop"},
		} {
			if _, err := ev.svc.Code(ctx, Caller{Admin: true}, r); err != nil {
				t.Fatal(err)
			}
			if ev.calls() != i+2 {
				t.Fatalf("variant %d served from the cache of another", i)
			}
		}
		if b := ev.bodies[len(ev.bodies)-1]; !strings.Contains(b, `"check_path":false`) || !strings.Contains(b, `"env_version":"develop"`) {
			t.Errorf("develop body %s: check_path must default to false outside release", b)
		}
	})
}

func TestUserShareCodes(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *storetest.Clock) {
		ev := newCodeEnv(t, st, clk)
		ctx := context.Background()
		alice := Caller{OpenID: "alice"}
		c, err := ev.svc.Code(ctx, alice, CodeRequest{Page: "pages/index/index", Params: Params{"referrer": "mallory"}})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := ev.svc.Lookup(ctx, c.Scene)
		rid, err := ev.svc.ReferrerID(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if e.Params[ReferrerParam] != rid || strings.Contains(e.Page+e.Params[ReferrerParam], "alice") {
			t.Fatalf("share code params %v: the referrer must be the caller's referrer id %q, never the openid", e.Params, rid)
		}
		if q := decode(t, c.Image); q.Get("scene") != c.Scene {
			t.Fatalf("decoded %v", q)
		}
		f := false
		for _, r := range []CodeRequest{{Page: "pages/index/index", EnvVersion: "develop"}, {Page: "pages/x/x", CheckPath: &f}} {
			if _, err := ev.svc.Code(ctx, alice, r); !errors.Is(err, ErrForbidden) {
				t.Errorf("user %+v: %v, want forbidden", r, err)
			}
		}
		// UserLimit 2 per hour: one more new code, then 429; repeats are free.
		if _, err := ev.svc.Code(ctx, alice, CodeRequest{Page: "pages/a/a"}); err != nil {
			t.Fatal(err)
		}
		_, err = ev.svc.Code(ctx, alice, CodeRequest{Page: "pages/b/b"})
		if e := apperr.From(err); e.Code != "rate_limited" || e.Kind != apperr.RateLimited || e.RetryAfter <= 0 {
			t.Fatalf("third new code: %v", err)
		}
		if c2, err := ev.svc.Code(ctx, alice, CodeRequest{Page: "pages/index/index"}); err != nil || !c2.Cached {
			t.Fatalf("a repeat must be served from the cache: %v", err)
		}
		// Staff are not limited and may make any code.
		for _, p := range []string{"pages/b/b", "pages/c/c", "pages/d/d"} {
			if _, err := ev.svc.Code(ctx, Caller{OpenID: "staff1"}, CodeRequest{Page: p, EnvVersion: "trial"}); err != nil {
				t.Fatal(err)
			}
		}
		// The window passes.
		clk.Advance(DefaultUserWindow)
		if _, err := ev.svc.Code(ctx, alice, CodeRequest{Page: "pages/b/b"}); err != nil {
			t.Fatalf("next window: %v", err)
		}
	})
}

func TestCodeErrorsMapped(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *storetest.Clock) {
		ev := newCodeEnv(t, st, clk)
		ctx := context.Background()
		admin := Caller{Admin: true}
		want := func(err error, code string, kind apperr.Kind) {
			t.Helper()
			e := apperr.From(err)
			if e.Code != code || e.Kind != kind {
				t.Fatalf("err %v: want %s", err, code)
			}
			var ae *wechat.APIError
			if kind != apperr.Invalid || code == "invalid_page" || code == "invalid_scene" {
				if !errors.As(err, &ae) {
					t.Errorf("%s: no *wechat.APIError cause", code)
				}
			}
		}
		// A page the published Mini-Program does not have (check_path true).
		_, err := ev.svc.Code(ctx, admin, CodeRequest{Page: "nosuch/page"})
		want(err, "invalid_page", apperr.Invalid)
		f := false
		if _, err := ev.svc.Code(ctx, admin, CodeRequest{Page: "nosuch/page", CheckPath: &f}); err != nil {
			t.Fatalf("check_path false: %v", err)
		}
		ev.emu.Fail(codePath, 1, 45009)
		_, err = ev.svc.Code(ctx, admin, CodeRequest{Page: "pages/q/q"})
		want(err, "wechat_quota", apperr.RateLimited)
		ev.emu.Fail(codePath, 1, 40169)
		_, err = ev.svc.Code(ctx, admin, CodeRequest{Page: "pages/q/q"})
		want(err, "invalid_scene", apperr.Invalid)
		ev.emu.Fail(codePath, 1, 45063)
		_, err = ev.svc.Code(ctx, admin, CodeRequest{Page: "pages/q/q"})
		want(err, "wechat_no_permission", apperr.Upstream)
		ev.emu.Fail(codePath, 1, -1)
		_, err = ev.svc.Code(ctx, admin, CodeRequest{Page: "pages/q/q"})
		want(err, "wechat_unavailable", apperr.Upstream)
		// Failures are not cached.
		if c, err := ev.svc.Code(ctx, admin, CodeRequest{Page: "pages/q/q"}); err != nil || c.Cached {
			t.Fatalf("after the failures: %v cached %v", err, c.Cached)
		}
		for _, bad := range []CodeRequest{{Page: "pages/a", Width: 100}, {Page: "pages/a", EnvVersion: "beta"}, {Page: "/pages/a"}} {
			if _, err := ev.svc.Code(ctx, admin, bad); apperr.KindOf(err) != apperr.Invalid {
				t.Errorf("%+v: %v", bad, err)
			}
		}
	})
}
