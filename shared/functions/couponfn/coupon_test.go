package couponfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/functions/couponfn"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
	"github.com/minifn/minifn/shared/store/storetest"
)

const couponAdminToken = "admin-token-for-coupon-tests"

// couponEnv serves the four coupon functions on 127.0.0.1 with real session
// tokens, over one store.
type couponEnv struct {
	t    *testing.T
	srv  *httptest.Server
	sess *session.Sessions
	mu   sync.Mutex
	now  time.Time
}

func (e *couponEnv) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *couponEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// couponEnvs returns one environment per available store backend.
func couponEnvs(t *testing.T, run func(t *testing.T, e *couponEnv)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := &couponEnv{t: t, now: time.Date(2030, 6, 1, 10, 0, 0, 0, time.UTC)}
			st := b.Open(t, e.Now)
			e.sess = session.New(bytes.Repeat([]byte("k"), 32), 10000*time.Hour, couponAdminToken, e.Now)
			e.srv = httptest.NewServer(couponAPI(t, st, e.sess, e.Now,
				couponfn.Campaigns, couponfn.Coupons, couponfn.CouponClaim, couponfn.CouponRedeem))
			t.Cleanup(e.srv.Close)
			run(t, e)
		})
	}
}

// couponAPI serves specs as their Builds make them, on one router, over st
// (configuration injected, rate limits off), with sess for tokens that stay
// valid over the test's months.
func couponAPI(t testing.TB, st store.Store, sess *session.Sessions, now func() time.Time, specs ...app.Spec) http.Handler {
	t.Helper()
	cfg := app.Config{WechatAPIBase: "http://127.0.0.1:1", SessionSecret: app.Secret(strings.Repeat("k", 32)),
		SessionTTL: time.Hour, PayAPIBase: "https://api.mch.weixin.qq.com", OrderTTL: 15 * time.Minute}
	a, err := app.Open(context.Background(), cfg, app.Options{Store: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a.Sessions = sess
	rt := httpapi.NewRouter()
	for _, spec := range specs {
		f, err := spec.Build(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, route := range spec.Routes {
			rt.Handle(route, f.Handler)
		}
	}
	return rt
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) code() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// do sends a request as who: "" (no token), "admin", or a user's openid.
func (e *couponEnv) do(who, method, path string, body any, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	switch who {
	case "":
	case "admin":
		req.Header.Set("Authorization", "Bearer "+couponAdminToken)
	default:
		tok, _ := e.sess.Issue(who)
		req.Header.Set("Authorization", "Bearer "+tok)
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
	return reply{res.StatusCode, res.Header, b}
}

// campaign creates a campaign as admin from fields over a valid default.
func (e *couponEnv) campaign(fields map[string]any) coupon.CampaignView {
	e.t.Helper()
	in := map[string]any{"title": "5 yuan off", "discount": map[string]any{"amount_off": 500}, "stock": 10, "valid_days": 7}
	for k, v := range fields {
		in[k] = v
	}
	r := e.do("admin", "POST", "/campaigns", in)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create campaign: %d %s", r.status, r.body)
	}
	var out struct{ Campaign coupon.CampaignView }
	json.Unmarshal(r.body, &out)
	return out.Campaign
}

func (e *couponEnv) claim(user, campaignID string, header ...string) (coupon.Coupon, reply) {
	e.t.Helper()
	r := e.do(user, "POST", "/coupons/claim", map[string]string{"campaign_id": campaignID}, header...)
	var out struct{ Coupon coupon.Coupon }
	json.Unmarshal(r.body, &out)
	return out.Coupon, r
}

func wantError(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Errorf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

// TestClaimErrors checks every error a claim can answer, through the route.
func TestClaimErrors(t *testing.T) {
	couponEnvs(t, func(t *testing.T, e *couponEnv) {
		one := e.campaign(map[string]any{"stock": 1})
		if _, r := e.claim("alice", one.ID); r.status != http.StatusCreated {
			t.Fatalf("first claim: %d %s", r.status, r.body)
		}
		_, r := e.claim("bob", one.ID)
		wantError(t, "claim after sell-out", r, 409, "sold_out")
		_, r = e.claim("alice", one.ID)
		wantError(t, "second claim", r, 409, "limit_reached") // the limit is checked before the stock

		_, r = e.claim("alice", "no-such-campaign")
		wantError(t, "unknown campaign", r, 404, "campaign_not_found")

		later := e.campaign(map[string]any{"claim_starts_at": e.Now().Add(time.Hour).Format(time.RFC3339)})
		_, r = e.claim("alice", later.ID)
		wantError(t, "before the window", r, 403, "not_started")

		closing := e.campaign(map[string]any{"claim_ends_at": e.Now().Add(time.Minute).Format(time.RFC3339)})
		e.advance(time.Minute)
		_, r = e.claim("alice", closing.ID)
		wantError(t, "after the window", r, 410, "campaign_ended")

		c := e.campaign(nil)
		if r := e.do("admin", "POST", "/campaigns/"+c.ID+"/pause", nil); r.status != 200 {
			t.Fatalf("pause: %d %s", r.status, r.body)
		}
		_, r = e.claim("alice", c.ID)
		wantError(t, "paused", r, 403, "campaign_paused")
		e.do("admin", "POST", "/campaigns/"+c.ID+"/resume", nil)
		// coupon-claim keeps its own campaign cache, as each function does
		// in production (docs/coupons.md): a change reaches it within a TTL.
		e.advance(coupon.DefaultCacheTTL)
		if _, r := e.claim("alice", c.ID); r.status != 201 {
			t.Errorf("claim after resume: %d %s", r.status, r.body)
		}
		e.do("admin", "POST", "/campaigns/"+c.ID+"/end", nil)
		e.advance(coupon.DefaultCacheTTL)
		_, r = e.claim("bob", c.ID)
		wantError(t, "ended by admin", r, 410, "campaign_ended")
		wantError(t, "resume after end", e.do("admin", "POST", "/campaigns/"+c.ID+"/resume", nil), 410, "campaign_ended")

		_, r = e.claim("", c.ID)
		wantError(t, "no token", r, 401, "unauthenticated")
		_, r = e.claim("alice", "")
		wantError(t, "no campaign_id", r, 400, "invalid_request")
		wantError(t, "not JSON", e.do("alice", "POST", "/coupons/claim", "x", "Content-Type", "text/plain"), 415, "unsupported_media_type")
		wantError(t, "GET claim", e.do("alice", "GET", "/coupons/claim", nil), 405, "method_not_allowed")
	})
}

func TestClaimIdempotencyKey(t *testing.T) {
	couponEnvs(t, func(t *testing.T, e *couponEnv) {
		c := e.campaign(map[string]any{"per_user_limit": 3})
		first, r1 := e.claim("alice", c.ID, "Idempotency-Key", "k1")
		again, r2 := e.claim("alice", c.ID, "Idempotency-Key", "k1")
		if r1.status != 201 || r2.status != 201 || first.ID == "" || again.ID != first.ID || again.Code != first.Code {
			t.Fatalf("replay: %d %s / %d %s", r1.status, r1.body, r2.status, r2.body)
		}
		if r1.header.Get("Idempotent-Replayed") != "" || r2.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("Idempotent-Replayed: %q then %q", r1.header.Get("Idempotent-Replayed"), r2.header.Get("Idempotent-Replayed"))
		}
		r := e.do("alice", "GET", "/coupons", nil)
		var list struct{ Coupons []coupon.Coupon }
		json.Unmarshal(r.body, &list)
		if len(list.Coupons) != 1 {
			t.Errorf("%d coupons after a replayed claim, want 1", len(list.Coupons))
		}
		_, r = e.claim("alice", c.ID, "Idempotency-Key", strings.Repeat("x", 300))
		wantError(t, "long key", r, 400, "invalid_request")
	})
}

func TestCampaignRoutes(t *testing.T) {
	couponEnvs(t, func(t *testing.T, e *couponEnv) {
		body := map[string]any{"title": "20% off", "discount": map[string]any{"percent_off": 20, "max_off": 1000},
			"min_spend": 3000, "stock": 50, "stock_shards": 4, "valid_until": e.Now().Add(48 * time.Hour).Format(time.RFC3339)}
		wantError(t, "create with a user token", e.do("alice", "POST", "/campaigns", body), 403, "forbidden")
		wantError(t, "create without a token", e.do("", "POST", "/campaigns", body), 401, "unauthenticated")
		r := e.do("admin", "POST", "/campaigns", body, "Idempotency-Key", "c1")
		r2 := e.do("admin", "POST", "/campaigns", body, "Idempotency-Key", "c1")
		var v struct{ Campaign coupon.CampaignView }
		json.Unmarshal(r.body, &v)
		if r.status != 201 || r2.status != 201 || !bytes.Equal(r.body, r2.body) || v.Campaign.Remaining != 50 ||
			v.Campaign.Status != "active" || v.Campaign.PerUserLimit != 1 || v.Campaign.ClaimEndsAt == nil {
			t.Fatalf("create: %d %s / replay %d %s", r.status, r.body, r2.status, r2.body)
		}
		for _, bad := range []map[string]any{
			{"title": "x", "discount": map[string]any{"percent_off": 120}, "stock": 1, "valid_days": 1},
			{"title": "x", "discount": map[string]any{"amount_off": 1}, "stock": 0, "valid_days": 1},
			{"title": "x", "discount": map[string]any{"amount_off": 1}, "stock": 1},
			{"title": "x", "discount": map[string]any{"amount_off": 1}, "stock": "many", "valid_days": 1},
		} {
			wantError(t, fmt.Sprint("create ", bad), e.do("admin", "POST", "/campaigns", bad), 400, "invalid_request")
		}
		e.claim("alice", v.Campaign.ID)
		list := func(who, q string) (reply, []coupon.CampaignView) {
			r := e.do(who, "GET", "/campaigns"+q, nil)
			var out struct{ Campaigns []coupon.CampaignView }
			json.Unmarshal(r.body, &out)
			return r, out.Campaigns
		}
		if r, l := list("", ""); r.status != 200 || len(l) != 1 || l[0].Remaining != 49 {
			t.Errorf("public list: %d %s", r.status, r.body)
		}
		e.do("admin", "POST", "/campaigns/"+v.Campaign.ID+"/pause", nil)
		if _, l := list("", ""); len(l) != 0 {
			t.Errorf("paused campaign listed publicly: %+v", l)
		}
		wantError(t, "all=1 as a user", e.do("alice", "GET", "/campaigns?all=1", nil), 403, "forbidden")
		if r, l := list("admin", "?all=1"); r.status != 200 || len(l) != 1 || l[0].Status != "paused" {
			t.Errorf("admin list: %d %s", r.status, r.body)
		}
		wantError(t, "pause as a user", e.do("alice", "POST", "/campaigns/"+v.Campaign.ID+"/resume", nil), 403, "forbidden")
		wantError(t, "pause unknown", e.do("admin", "POST", "/campaigns/nope/pause", nil), 404, "campaign_not_found")
		wantError(t, "get unknown", e.do("", "GET", "/campaigns/nope", nil), 404, "campaign_not_found")
	})
}

// TestMyCoupons: listing with the status filter, expiry computed on read,
// and the QR code of the redemption code, for its owner only.
func TestMyCoupons(t *testing.T) {
	couponEnvs(t, func(t *testing.T, e *couponEnv) {
		short := e.campaign(map[string]any{"valid_days": 1})
		long := e.campaign(map[string]any{"valid_days": 30})
		a, _ := e.claim("alice", short.ID)
		b, _ := e.claim("alice", long.ID)
		e.advance(25 * time.Hour)
		get := func(q string) []coupon.Coupon {
			r := e.do("alice", "GET", "/coupons"+q, nil)
			if r.status != 200 {
				t.Fatalf("GET /coupons%s: %d %s", q, r.status, r.body)
			}
			var out struct{ Coupons []coupon.Coupon }
			json.Unmarshal(r.body, &out)
			return out.Coupons
		}
		if l := get(""); len(l) != 2 {
			t.Errorf("all: %+v", l)
		}
		if l := get("?status=expired"); len(l) != 1 || l[0].ID != a.ID || l[0].Status != "expired" {
			t.Errorf("expired: %+v", l)
		}
		if l := get("?status=usable"); len(l) != 1 || l[0].ID != b.ID {
			t.Errorf("usable: %+v", l)
		}
		if l := get("?status=used"); len(l) != 0 {
			t.Errorf("used: %+v", l)
		}
		wantError(t, "bad filter", e.do("alice", "GET", "/coupons?status=lost", nil), 400, "invalid_request")
		wantError(t, "no token", e.do("", "GET", "/coupons", nil), 401, "unauthenticated")

		r := e.do("alice", "GET", "/coupons/"+b.ID+"/qr", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr: %d %s", r.status, r.header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}) // the image is a code and nothing else: without the hint gozxing misreads some
		if err != nil || res.GetText() != b.Code {
			t.Errorf("QR decodes to %v (%v), want %q", res, err, b.Code)
		}
		wantError(t, "another user's qr", e.do("bob", "GET", "/coupons/"+b.ID+"/qr", nil), 404, "coupon_not_found")
		wantError(t, "qr size", e.do("alice", "GET", "/coupons/"+b.ID+"/qr?size=9000", nil), 400, "invalid_request")
	})
}

// TestRedeemRoute: staff management and every redemption error.
func TestRedeemRoute(t *testing.T) {
	couponEnvs(t, func(t *testing.T, e *couponEnv) {
		c := e.campaign(map[string]any{"per_user_limit": 3, "valid_days": 2})
		c1, _ := e.claim("alice", c.ID)
		c2, _ := e.claim("alice", c.ID)
		c3, _ := e.claim("alice", c.ID)
		redeem := func(who, code string) reply {
			return e.do(who, "POST", "/coupons/redeem", map[string]string{"code": code})
		}
		wantError(t, "redeem by a plain user", redeem("clerk", c1.Code), 403, "not_staff")
		wantError(t, "redeem without a token", redeem("", c1.Code), 401, "unauthenticated")
		wantError(t, "grant as a user", e.do("clerk", "PUT", "/staff/clerk", nil), 403, "forbidden")
		if r := e.do("admin", "PUT", "/staff/clerk", nil); r.status != 200 || !strings.Contains(string(r.body), `"openid":"clerk"`) {
			t.Fatalf("grant: %d %s", r.status, r.body)
		}
		r := redeem("clerk", strings.ToLower(strings.ReplaceAll(c1.Code, "-", " ")))
		var out struct{ Coupon coupon.Coupon }
		json.Unmarshal(r.body, &out)
		if r.status != 200 || out.Coupon.Status != "used" || out.Coupon.ID != c1.ID {
			t.Fatalf("redeem: %d %s", r.status, r.body)
		}
		wantError(t, "redeem twice", redeem("clerk", c1.Code), 409, "already_used")
		wantError(t, "unknown code", redeem("clerk", "ZZZZ-ZZZZ-ZZZZ-ZZZZ"), 404, "unknown_code")
		wantError(t, "not a code", redeem("clerk", "hello"), 404, "unknown_code")
		wantError(t, "empty code", redeem("clerk", ""), 400, "invalid_request")
		if r := redeem("admin", c2.Code); r.status != 200 {
			t.Errorf("redeem as admin: %d %s", r.status, r.body)
		}
		if r := e.do("admin", "DELETE", "/staff/clerk", nil); r.status != 204 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantError(t, "redeem after revoke", redeem("clerk", c3.Code), 403, "not_staff")
		wantError(t, "grant malformed", e.do("admin", "PUT", "/staff/a%23b", nil), 400, "invalid_request")
		e.advance(49 * time.Hour)
		wantError(t, "redeem expired", redeem("admin", c3.Code), 410, "expired")
	})
}

// BenchmarkClaimHTTP is BenchmarkFlashSale (shared/coupon) through the real
// route: 1,000 coupons, 20,000 POST /coupons/claim from 200 concurrent
// keep-alive clients over loopback, on bbolt, session tokens checked.
//
//	go test ./shared/functions/couponfn -run '^$' -bench ClaimHTTP -benchtime 3x
func BenchmarkClaimHTTP(b *testing.B) {
	const stock, attempts, workers, users = 1000, 20_000, 200, 10_000
	st, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cs := coupon.New(st, coupon.Options{})
	sess := session.New(bytes.Repeat([]byte("k"), 32), time.Hour, "", nil)
	srv := httptest.NewServer(couponAPI(b, st, sess, nil, couponfn.CouponClaim))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i], _ = sess.Issue(fmt.Sprintf("bench%05d", i))
	}
	var lat []time.Duration
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		camp, _, err := cs.CreateCampaign(context.Background(), coupon.CampaignInput{Title: "bench",
			Discount: &coupon.Discount{AmountOff: 100}, Stock: stock, ValidDays: 1}, "")
		if err != nil {
			b.Fatal(err)
		}
		body := []byte(`{"campaign_id":"` + camp.ID + `"}`)
		b.StartTimer()
		l := make([]time.Duration, attempts)
		var next, issued atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < attempts; i = next.Add(1) - 1 {
					req, _ := http.NewRequest("POST", srv.URL+"/coupons/claim", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tokens[i%users])
					req.Header.Set("Content-Type", "application/json")
					t0 := time.Now()
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					l[i] = time.Since(t0)
					switch res.StatusCode {
					case http.StatusCreated:
						issued.Add(1)
					case http.StatusConflict:
					default:
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		if issued.Load() != stock {
			b.Fatalf("%d coupons issued, want %d", issued.Load(), stock)
		}
		lat = append(lat, l...)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "attempts/s")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e6, "p99-ms")
}
