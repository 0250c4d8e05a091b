package outletfn_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/couponfn"
	"github.com/minifn/minifn/shared/functions/outletfn"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store/storetest"
)

const adminToken = "admin-token-for-store-tests"

// env serves the stores function (and coupon-redeem, for staff, with the
// coupon functions a redemption needs) on 127.0.0.1 with real tokens.
type env struct {
	t    *testing.T
	srv  *httptest.Server
	sess *session.Sessions
	mu   sync.Mutex
	now  time.Time
}

func (e *env) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) set(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// each runs f on a fresh environment per available backend.
func each(t *testing.T, f func(t *testing.T, e *env, backend string)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			// Monday 2030-06-03, 10:00 in China.
			e := &env{t: t, now: time.Date(2030, 6, 3, 2, 0, 0, 0, time.UTC)}
			st := b.Open(t, e.Now)
			e.sess = session.New(bytes.Repeat([]byte("k"), 32), 1000*time.Hour, adminToken, e.Now)
			cfg := app.Config{WechatAPIBase: "http://127.0.0.1:1", SessionSecret: app.Secret(strings.Repeat("k", 32)),
				SessionTTL: time.Hour, PayAPIBase: "https://api.mch.weixin.qq.com", OrderTTL: 15 * time.Minute}
			a, err := app.Open(context.Background(), cfg, app.Options{Store: st, Now: e.Now})
			if err != nil {
				t.Fatal(err)
			}
			a.Sessions = e.sess
			rt := httpapi.NewRouter()
			for _, spec := range []app.Spec{outletfn.Stores, couponfn.CouponRedeem, couponfn.Campaigns, couponfn.CouponClaim} {
				fn, err := spec.Build(a)
				if err != nil {
					t.Fatal(err)
				}
				for _, route := range spec.Routes {
					rt.Handle(route, fn.Handler)
				}
			}
			e.srv = httptest.NewServer(rt)
			t.Cleanup(e.srv.Close)
			f(t, e, b.Name)
		})
	}
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

// do sends a request as who: "" (no token), "admin", or a user's openid;
// body is JSON-encoded unless it is a string (sent as is).
func (e *env) do(who, method, path string, body any, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	switch who {
	case "":
	case "admin":
		req.Header.Set("Authorization", "Bearer "+adminToken)
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

// storeOut is a store as answered.
type storeOut struct {
	outlet.Store
	OpenNow  bool   `json:"open_now"`
	Distance *int64 `json:"distance_m"`
}

func (e *env) create(fields map[string]any, header ...string) storeOut {
	e.t.Helper()
	r := e.do("admin", "POST", "/stores", fields, header...)
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST /stores %v: %d %s", fields, r.status, r.body)
	}
	return storeOf(e.t, r)
}

func storeOf(t *testing.T, r reply) storeOut {
	t.Helper()
	var out struct{ Store storeOut }
	if err := json.Unmarshal(r.body, &out); err != nil || out.Store.ID == "" {
		t.Fatalf("no store in %d %s", r.status, r.body)
	}
	return out.Store
}

func (e *env) list(who, query string) ([]storeOut, string) {
	e.t.Helper()
	r := e.do(who, "GET", "/stores"+query, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /stores%s as %q: %d %s", query, who, r.status, r.body)
	}
	var out struct {
		Stores []storeOut
		Next   string
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.Stores == nil {
		e.t.Fatalf("GET /stores%s: %s", query, r.body)
	}
	return out.Stores, out.Next
}

func ids(list []storeOut) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func wantError(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Errorf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

// place is a store's location and status as the test knows it.
type place struct {
	id       string
	lat, lng float64
	closed   bool
}

// bruteForce answers a nearby query by scanning every store: the
// reference the index must agree with.
func bruteForce(all map[string]*place, lat, lng, radius float64, limit int, closed bool) []string {
	type hit struct {
		id string
		d  float64
	}
	var hits []hit
	for _, p := range all {
		if p.closed && !closed {
			continue
		}
		if d := outlet.Distance(lat, lng, p.lat, p.lng); d <= radius {
			hits = append(hits, hit{p.id, d})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.id, b.id)) })
	out := []string{}
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].id)
	}
	return out
}

// TestNearbyMatchesBruteForce: random stores over a city (some closed, some
// moved after creation), random points and radii from 30 m to 50 km (so
// that every index level answers), as a user and as the admin: GET /stores
// answers exactly what a scan of all stores filtered and sorted gives, with
// distance_m the great-circle distance.
func TestNearbyMatchesBruteForce(t *testing.T) {
	each(t, func(t *testing.T, e *env, backend string) {
		stores, queries := 150, 150
		if backend != "bolt" {
			stores, queries = 40, 50 // round trips to DynamoDB (in-process) and PostgreSQL
		}
		rng := rand.New(rand.NewPCG(18, 1))
		// Shanghai and around: about 60 km by 55 km, with a dense core.
		randPoint := func(spread float64) (float64, float64) {
			return 31.23 + (rng.Float64()*2-1)*spread, 121.47 + (rng.Float64()*2-1)*spread
		}
		all := map[string]*place{}
		for i := range stores {
			spread := 0.25
			if i%3 == 0 {
				spread = 0.01 // a few hundred metres: many stores in one small cell
			}
			lat, lng := randPoint(spread)
			status := "open"
			if rng.IntN(5) == 0 {
				status = "closed"
			}
			st := e.create(map[string]any{"name": fmt.Sprintf("S%d", i), "address": "Road", "lat": lat, "lng": lng, "status": status})
			all[st.ID] = &place{id: st.ID, lat: lat, lng: lng, closed: status == "closed"}
		}
		// Move some stores: across cells at every level, or a few metres.
		n := 0
		for _, p := range all {
			if n++; n > stores/5 {
				break
			}
			lat, lng := randPoint(0.25)
			if n%2 == 0 {
				lat, lng = p.lat+0.00001, p.lng
			}
			r := e.do("admin", "PUT", "/stores/"+p.id, map[string]any{"lat": lat, "lng": lng})
			if r.status != http.StatusOK {
				t.Fatalf("move: %d %s", r.status, r.body)
			}
			p.lat, p.lng = lat, lng
		}
		for q := range queries {
			lat, lng := randPoint(0.3)
			radius := math.Round(30*math.Pow(50000.0/30, rng.Float64())*10) / 10 // log-uniform 30 m to 50 km
			limit := 1 + rng.IntN(100)
			who := "u1"
			if q%3 == 0 {
				who = "admin"
			}
			got, _ := e.list(who, fmt.Sprintf("?lat=%v&lng=%v&radius_m=%v&limit=%d", lat, lng, radius, limit))
			want := bruteForce(all, lat, lng, radius, limit, who == "admin")
			if !slices.Equal(ids(got), want) {
				t.Fatalf("query %d (%v, %v) r=%v limit %d as %s:\n got %v\nwant %v", q, lat, lng, radius, limit, who, ids(got), want)
			}
			for _, s := range got {
				p := all[s.ID]
				if s.Distance == nil || *s.Distance != int64(math.Round(outlet.Distance(lat, lng, p.lat, p.lng))) || s.Lat != p.lat {
					t.Fatalf("query %d: store %s at distance %v, stored at (%v, %v); want (%v, %v)", q, s.ID, s.Distance, s.Lat, s.Lng, p.lat, p.lng)
				}
			}
		}
	})
}

// TestStoresBadInput: malformed points, radii, limits and stores are 400
// invalid_request, naming the field; writes need the admin token.
func TestStoresBadInput(t *testing.T) {
	each(t, func(t *testing.T, e *env, _ string) {
		for _, q := range []string{
			"?lat=91&lng=121", "?lat=-90.5&lng=121", "?lat=abc&lng=121", "?lat=31&lng=181", "?lat=31&lng=-180.01",
			"?lat=31", "?lng=121", "?radius_m=100", "?lat=&lng=121",
			"?lat=NaN&lng=121", "?lat=31&lng=Inf", "?lat=31&lng=121&radius_m=0", "?lat=31&lng=121&radius_m=-5",
			"?lat=31&lng=121&radius_m=50001", "?lat=31&lng=121&radius_m=1e9", "?lat=31&lng=121&radius_m=NaN",
			"?lat=31&lng=121&limit=0", "?lat=31&lng=121&limit=101", "?lat=31&lng=121&limit=x",
			"?limit=0", "?after=a%23b",
		} {
			wantError(t, "GET /stores"+q, e.do("u1", "GET", "/stores"+q, nil), 400, "invalid_request")
		}
		good := map[string]any{"name": "A", "address": "1 Road", "lat": 31.2, "lng": 121.4}
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		for _, b := range []any{
			with("name", nil), with("name", " "), with("address", nil), with("lat", nil), with("lng", nil),
			with("lat", 90.1), with("lng", "121"), with("status", "shut"), with("phone", "call me"),
			with("name", strings.Repeat("长", 65)),
			with("hours", map[string]any{"mon": []any{map[string]any{"open": "21:00", "close": "09:00"}}}),
			with("hours", map[string]any{"monday": []any{}}),
			with("if_version", 1),
			"{", "",
		} {
			wantError(t, fmt.Sprintf("POST /stores %v", b), e.do("admin", "POST", "/stores", b), 400, "invalid_request")
		}
		wantError(t, "POST as a user", e.do("u1", "POST", "/stores", good), 403, "forbidden")
		wantError(t, "POST without a token", e.do("", "POST", "/stores", good), 401, "unauthenticated")
		st := e.create(good)
		wantError(t, "PUT as a user", e.do("u1", "PUT", "/stores/"+st.ID, map[string]any{"name": "B"}), 403, "forbidden")
		wantError(t, "PUT bad lat", e.do("admin", "PUT", "/stores/"+st.ID, map[string]any{"lat": -91}), 400, "invalid_request")
		wantError(t, "PUT if_version 0", e.do("admin", "PUT", "/stores/"+st.ID, map[string]any{"if_version": 0}), 400, "invalid_request")
		wantError(t, "PUT unknown", e.do("admin", "PUT", "/stores/nope", map[string]any{"name": "B"}), 404, "store_not_found")
		wantError(t, "GET unknown", e.do("u1", "GET", "/stores/nope", nil), 404, "store_not_found")
		wantError(t, "GET malformed id", e.do("u1", "GET", "/stores/a%23b", nil), 404, "store_not_found")
		if got := storeOf(t, e.do("u1", "GET", "/stores/"+st.ID, nil)); got.Name != "A" || got.Version != 1 {
			t.Errorf("the refused writes changed the store: %+v", got)
		}
	})
}

// TestStoreEdits: PUT changes what it names, counts versions, refuses a
// stale if_version with 409 version_conflict; POST with an
// Idempotency-Key creates once.
func TestStoreEdits(t *testing.T) {
	each(t, func(t *testing.T, e *env, _ string) {
		body := map[string]any{"name": "A", "address": "1 Road", "lat": 31.2, "lng": 121.4,
			"hours": map[string]any{"sun": []any{map[string]any{"open": "10:00", "close": "18:00"}}, "mon": []any{map[string]any{"open": "09:00", "close": "21:00"}}}}
		first := e.create(body, "Idempotency-Key", "k1")
		r := e.do("admin", "POST", "/stores", body, "Idempotency-Key", "k1")
		if r.status != http.StatusCreated || storeOf(t, r).ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %s %v", r.status, r.body, r.header)
		}
		body["name"] = "B"
		wantError(t, "the key with another body", e.do("admin", "POST", "/stores", body, "Idempotency-Key", "k1"), 422, "idempotency_key_reused")
		if all, _ := e.list("admin", ""); len(all) != 1 {
			t.Fatalf("created %d stores, want 1", len(all))
		}
		if !first.OpenNow || first.Version != 1 || !strings.Contains(string(e.do("u1", "GET", "/stores/"+first.ID, nil).body), `"hours":{"mon":[{"open":"09:00","close":"21:00"}],"sun":`) {
			t.Fatalf("created: %+v", first)
		}
		r = e.do("admin", "PUT", "/stores/"+first.ID, map[string]any{"name": "A2", "if_version": 1})
		edited := storeOf(t, r)
		if r.status != 200 || edited.Name != "A2" || edited.Address != "1 Road" || edited.Version != 2 || len(edited.Hours) != 2 {
			t.Fatalf("edit: %d %s", r.status, r.body)
		}
		wantError(t, "stale if_version", e.do("admin", "PUT", "/stores/"+first.ID, map[string]any{"name": "A3", "if_version": 1}), 409, "version_conflict")
		e.set(e.Now().Add(12 * time.Hour)) // Monday 22:00 in China
		if got := storeOf(t, e.do("u1", "GET", "/stores/"+first.ID, nil)); got.OpenNow || got.Name != "A2" {
			t.Fatalf("after hours: %+v", got)
		}
		r = e.do("admin", "PUT", "/stores/"+first.ID, map[string]any{"hours": map[string]any{}}) // {}: no timetable
		if got := storeOf(t, r); !got.OpenNow || got.Hours != nil || got.Version != 3 {
			t.Fatalf("hours cleared: %s", r.body)
		}
	})
}

// TestClosedStore: a closed store is hidden from users' lists and nearby
// answers, shown with its status to the admin, and readable by id.
func TestClosedStore(t *testing.T) {
	each(t, func(t *testing.T, e *env, _ string) {
		a := e.create(map[string]any{"name": "A", "address": "1 Road", "lat": 31.2, "lng": 121.4})
		b := e.create(map[string]any{"name": "B", "address": "2 Road", "lat": 31.201, "lng": 121.4})
		if r := e.do("admin", "PUT", "/stores/"+b.ID, map[string]any{"status": "closed"}); r.status != 200 {
			t.Fatalf("close: %d %s", r.status, r.body)
		}
		near := "?lat=31.2&lng=121.4&radius_m=500"
		if got, _ := e.list("u1", near); !slices.Equal(ids(got), []string{a.ID}) {
			t.Errorf("user nearby: %v", ids(got))
		}
		if got, _ := e.list("", ""); !slices.Equal(ids(got), []string{a.ID}) {
			t.Errorf("anonymous list: %v", ids(got))
		}
		got, _ := e.list("admin", near)
		if !slices.Equal(ids(got), []string{a.ID, b.ID}) || got[1].Status != "closed" || got[1].OpenNow || *got[1].Distance != 111 {
			t.Errorf("admin nearby: %+v", got)
		}
		if all, _ := e.list("admin", ""); len(all) != 2 {
			t.Errorf("admin list: %v", ids(all))
		}
		if s := storeOf(t, e.do("u1", "GET", "/stores/"+b.ID, nil)); s.Status != "closed" || s.OpenNow {
			t.Errorf("GET closed store: %+v", s)
		}
	})
}

// TestMoveStore: a store moved across cells is found at its new place only,
// at every radius (so at every index level).
func TestMoveStore(t *testing.T) {
	each(t, func(t *testing.T, e *env, _ string) {
		s := e.create(map[string]any{"name": "A", "address": "1 Road", "lat": 31.2, "lng": 121.4})
		// Beijing: another cell at every level.
		if r := e.do("admin", "PUT", "/stores/"+s.ID, map[string]any{"lat": 39.9, "lng": 116.4}); r.status != 200 {
			t.Fatalf("move: %d %s", r.status, r.body)
		}
		for _, radius := range []int{100, 2000, 20000, 50000} {
			if got, _ := e.list("u1", fmt.Sprintf("?lat=31.2&lng=121.4&radius_m=%d", radius)); len(got) != 0 {
				t.Errorf("r=%d: still found at the old place: %v", radius, ids(got))
			}
			got, _ := e.list("u1", fmt.Sprintf("?lat=39.9&lng=116.4&radius_m=%d", radius))
			if !slices.Equal(ids(got), []string{s.ID}) || *got[0].Distance != 0 || got[0].Lat != 39.9 {
				t.Errorf("r=%d: at the new place: %+v", radius, got)
			}
		}
	})
}

// TestListPaged: GET /stores without a point pages through every store in
// id order.
func TestListPaged(t *testing.T) {
	each(t, func(t *testing.T, e *env, _ string) {
		var want []string
		for i := range 5 {
			want = append(want, e.create(map[string]any{"name": fmt.Sprint(i), "address": "Road", "lat": 31.2, "lng": 121.4 + float64(i)/100}).ID)
		}
		slices.Sort(want)
		var got []string
		after := ""
		for {
			page, next := e.list("admin", "?limit=2&after="+after)
			if len(page) > 2 {
				t.Fatalf("page of %d", len(page))
			}
			got = append(got, ids(page)...)
			if next == "" {
				break
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages %v, want %v", got, want)
		}
	})
}

// TestStaffPerStore: PUT /staff/{openid} {"store_id"} binds the member to a
// store that exists, GET /staff?store_id= lists a store's staff, and a
// coupon redeemed by staff records their store (an admin's redemption the
// store it names).
func TestStaffPerStore(t *testing.T) {
	each(t, func(t *testing.T, e *env, _ string) {
		a := e.create(map[string]any{"name": "A", "address": "1 Road", "lat": 31.2, "lng": 121.4})
		b := e.create(map[string]any{"name": "B", "address": "2 Road", "lat": 31.3, "lng": 121.5})
		wantError(t, "grant at an unknown store", e.do("admin", "PUT", "/staff/clerk", map[string]any{"store_id": "nope"}), 404, "store_not_found")
		wantError(t, "grant with a bad body", e.do("admin", "PUT", "/staff/clerk", `{"store_id":1}`), 400, "invalid_request")
		for who, at := range map[string]string{"clerk": a.ID, "mia": b.ID, "zoe": ""} {
			body := any(nil)
			if at != "" {
				body = map[string]any{"store_id": at}
			}
			r := e.do("admin", "PUT", "/staff/"+who, body)
			if r.status != 200 || (at != "" && !strings.Contains(string(r.body), `"store_id":"`+at+`"`)) {
				t.Fatalf("grant %s: %d %s", who, r.status, r.body)
			}
		}
		staffOf := func(query string) []string {
			t.Helper()
			r := e.do("admin", "GET", "/staff"+query, nil)
			var out struct{ Staff []outlet.Staff }
			if json.Unmarshal(r.body, &out); r.status != 200 {
				t.Fatalf("GET /staff%s: %d %s", query, r.status, r.body)
			}
			var l []string
			for _, s := range out.Staff {
				l = append(l, s.OpenID+"@"+s.StoreID)
			}
			return l
		}
		if got := staffOf(""); !slices.Equal(got, []string{"clerk@" + a.ID, "mia@" + b.ID, "zoe@"}) {
			t.Errorf("all staff: %v", got)
		}
		if got := staffOf("?store_id=" + a.ID); !slices.Equal(got, []string{"clerk@" + a.ID}) {
			t.Errorf("A's staff: %v", got)
		}
		wantError(t, "staff of an unknown store", e.do("admin", "GET", "/staff?store_id=nope", nil), 404, "store_not_found")

		r := e.do("admin", "POST", "/campaigns", map[string]any{"title": "5 off", "discount": map[string]any{"amount_off": 500}, "stock": 10, "per_user_limit": 5, "valid_days": 7})
		var camp struct{ Campaign struct{ ID string } }
		if json.Unmarshal(r.body, &camp); r.status != 201 {
			t.Fatalf("campaign: %d %s", r.status, r.body)
		}
		code := func() string {
			r := e.do("alice", "POST", "/coupons/claim", map[string]any{"campaign_id": camp.Campaign.ID})
			var c struct{ Coupon struct{ Code string } }
			if json.Unmarshal(r.body, &c); r.status != 201 {
				t.Fatalf("claim: %d %s", r.status, r.body)
			}
			return c.Coupon.Code
		}
		redeemedAt := func(who string, body map[string]any) string {
			t.Helper()
			r := e.do(who, "POST", "/coupons/redeem", body)
			var c struct {
				Coupon struct {
					Status  string
					StoreID *string `json:"redeemed_store_id"`
				}
			}
			if json.Unmarshal(r.body, &c); r.status != 200 || c.Coupon.Status != "used" {
				t.Fatalf("redeem by %s: %d %s", who, r.status, r.body)
			}
			if c.Coupon.StoreID == nil {
				return "<none>"
			}
			return *c.Coupon.StoreID
		}
		if at := redeemedAt("clerk", map[string]any{"code": code(), "store_id": b.ID}); at != a.ID {
			t.Errorf("staff of A redeemed at %s", at)
		}
		if at := redeemedAt("zoe", map[string]any{"code": code()}); at != "<none>" {
			t.Errorf("staff of no store redeemed at %s", at)
		}
		if at := redeemedAt("admin", map[string]any{"code": code(), "store_id": b.ID}); at != b.ID {
			t.Errorf("admin for B redeemed at %s", at)
		}
		wantError(t, "admin at an unknown store", e.do("admin", "POST", "/coupons/redeem", map[string]any{"code": code(), "store_id": "nope"}), 404, "store_not_found")
		wantError(t, "not staff", e.do("bob", "POST", "/coupons/redeem", map[string]any{"code": code()}), 403, "not_staff")
	})
}
