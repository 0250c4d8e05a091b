package bookingfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/accountfn"
	"github.com/minifn/minifn/shared/functions/bookingfn"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

const (
	appID  = "wxbookingtest0001"
	secret = "booking-test-secret-0123456789"
	admin  = "admin-token-for-booking-tests-01"
	day    = "2026-12-07"
)

type env struct {
	t      *testing.T
	clock  *storetest.Clock
	srv    *httptest.Server
	emuURL string
	wx     *emulator.Emulator
	outlet *outlet.Service
	// Stores (package outlet): s1 and s2 open, shut closed.
	s1, s2, shut string
}

type user struct{ openid, token string }

func each(t *testing.T, f func(t *testing.T, e *env)) { eachWith(t, nil, f) }

// eachWith is each with the configuration changed by conf first.
func eachWith(t *testing.T, conf func(*app.Config), f func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			// 10:00 in Beijing the day before the test day.
			e := &env{t: t, clock: storetest.NewClock(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC))}
			st := b.Open(t, e.clock.Now)
			e.wx = emulator.New(emulator.Options{Now: e.clock.Now, Apps: map[string]emulator.App{appID: {Secret: secret}}})
			wxSrv := httptest.NewServer(e.wx.Handler())
			t.Cleanup(wxSrv.Close)
			e.emuURL = wxSrv.URL
			cfg := app.Config{
				WechatAppid: appID, WechatSecret: secret, WechatAPIBase: wxSrv.URL,
				SessionSecret: app.Secret(strings.Repeat("s", 32)), SessionTTL: 2 * time.Hour, AdminToken: admin,
				OrderTTL: 15 * time.Minute, PayAPIBase: "https://api.mch.weixin.qq.com",
			}
			if conf != nil {
				conf(&cfg)
			}
			a, err := app.Open(context.Background(), cfg, app.Options{Store: st, Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			rt := httpapi.NewRouter()
			e.outlet = outlet.New(st, outlet.Options{Now: e.clock.Now})
			for _, o := range []struct {
				id     *string
				status string
			}{{&e.s1, outlet.Open}, {&e.s2, outlet.Open}, {&e.shut, outlet.Closed}} {
				name, addr, lat, lng := "store", "1 Road", 31.23, 121.47
				created, _, err := e.outlet.Create(context.Background(), outlet.Edit{Name: &name, Address: &addr, Lat: &lat, Lng: &lng, Status: &o.status}, "")
				if err != nil {
					t.Fatal(err)
				}
				*o.id = created.ID
			}
			for _, spec := range []app.Spec{accountfn.Login, accountfn.Me, bookingfn.Bookings} {
				fn, err := spec.Build(a)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range spec.Routes {
					rt.Handle(r, fn.Handler)
				}
			}
			e.srv = httptest.NewServer(rt)
			t.Cleanup(e.srv.Close)
			f(t, e)
		})
	}
}

func (e *env) login(name string) user {
	e.t.Helper()
	res, err := http.Post(e.emuURL+"/_emulator/login-code", "application/json", strings.NewReader(`{"user":"`+name+`"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	var code struct{ Code string }
	json.NewDecoder(res.Body).Decode(&code)
	res.Body.Close()
	r := e.do("", "POST", "/login", map[string]any{"code": code.Code})
	var u struct{ Token, OpenID string }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &u) != nil {
		e.t.Fatalf("login %s: %d %s", name, r.status, r.body)
	}
	return user{openid: u.OpenID, token: u.Token}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) want(t *testing.T, what string, status int, code string) {
	t.Helper()
	var body struct{ Error struct{ Code string } }
	json.Unmarshal(r.body, &body)
	if r.status != status || body.Error.Code != code {
		t.Fatalf("%s: %d %s; want %d %s", what, r.status, r.body, status, code)
	}
}

func (r reply) ok(t *testing.T, what string, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s; want %d", what, r.status, r.body, status)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("%s: %v in %s", what, err, r.body)
		}
	}
}

func (e *env) do(token, method, path string, body any, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			raw = []byte(s)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

type bookingJSON struct {
	ID        string `json:"id"`
	OpenID    string `json:"openid"`
	StoreID   string `json:"store_id"`
	Slot      string `json:"slot"`
	SlotEnd   string `json:"slot_end"`
	Status    string `json:"status"`
	PartySize int    `json:"party_size"`
}

type slotJSON struct {
	Slot, Start, End           string
	Capacity, Taken, Available int
}

func (e *env) slots(t *testing.T, storeID string) []slotJSON {
	t.Helper()
	var out struct{ Slots []slotJSON }
	e.do(admin, "GET", "/stores/"+storeID+"/slots?date="+day, nil).ok(t, "slots", http.StatusOK, &out)
	return out.Slots
}

// TestBookingRateLimitHTTP: POST /bookings is limited per user
// (MINIFN_RATE_BOOKING), so that a script cannot book slot after slot; the
// limit is counted before anything is read or booked.
func TestBookingRateLimitHTTP(t *testing.T) {
	eachWith(t, func(c *app.Config) {
		var err error
		if c.RateBooking, err = ratelimit.ParseRules("openid=2/1m"); err != nil {
			t.Fatal(err)
		}
	}, func(t *testing.T, e *env) {
		alice, bob := e.login("alice"), e.login("bob")
		def := map[string]any{"date": day, "slots": []map[string]any{
			{"start": "12:00", "end": "13:00", "capacity": 6}, {"start": "13:00", "end": "14:00", "capacity": 6},
			{"start": "14:00", "end": "15:00", "capacity": 6}}}
		e.do(admin, "PUT", "/stores/"+e.s1+"/slots", def).ok(t, "define", 200, nil)
		book := func(u user, start string) reply {
			return e.do(u.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": day + "T" + start, "party_size": 1})
		}
		book(alice, "12:00").ok(t, "first", 201, nil)
		book(alice, "13:00").ok(t, "second", 201, nil)
		r := book(alice, "14:00")
		r.want(t, "third within the minute", 429, "rate_limited")
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("429 without Retry-After: %v", r.header)
		}
		book(bob, "14:00").ok(t, "another user", 201, nil)
		if s := e.slots(t, e.s1); s[2].Taken != 1 {
			t.Fatalf("the refused booking took seats: %+v", s[2])
		}
		e.clock.Advance(time.Minute)
		book(alice, "14:00").ok(t, "a minute later", 201, nil)
	})
}

func TestBookingsHTTP(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice, bob, staff1, staff2 := e.login("alice"), e.login("bob"), e.login("staff1"), e.login("staff2")
		for u, at := range map[string]string{staff1.openid: e.s1, staff2.openid: e.s2} {
			if _, err := e.outlet.GrantStaff(context.Background(), u, at); err != nil {
				t.Fatal(err)
			}
		}

		// No slots yet: an empty list, not null.
		if r := e.do(alice.token, "GET", "/stores/"+e.s1+"/slots?date="+day, nil); r.status != 200 || !bytes.Equal(bytes.TrimSpace(r.body), []byte(`{"slots":[]}`)) {
			t.Fatalf("empty day: %d %s", r.status, r.body)
		}
		e.do(alice.token, "GET", "/stores/"+e.s1+"/slots?date=tomorrow", nil).want(t, "bad date", 400, "invalid_request")
		e.do("", "GET", "/stores/"+e.s1+"/slots?date="+day, nil).want(t, "no token", 401, "unauthenticated")

		// The merchant defines the day.
		def := map[string]any{"date": day, "slots": []map[string]any{
			{"start": "12:00", "end": "13:30", "capacity": 6}, {"start": "18:00", "end": "19:30", "capacity": 4}}}
		e.do(alice.token, "PUT", "/stores/"+e.s1+"/slots", def).want(t, "user defines slots", 403, "forbidden")
		var set struct{ Slots []slotJSON }
		e.do(admin, "PUT", "/stores/"+e.s1+"/slots", def).ok(t, "define", 200, &set)
		if len(set.Slots) != 2 || set.Slots[1].Slot != day+"T18:00" || set.Slots[1].Available != 4 {
			t.Fatalf("defined: %+v", set.Slots)
		}
		e.do(admin, "PUT", "/stores/"+e.s1+"/slots", map[string]any{"date": day}).want(t, "no slots field", 400, "invalid_request")
		e.do(admin, "PUT", "/stores/"+e.s1+"/slots", `{"date":"`+day+`","slots":[{"start":"12:00","end":"13:00","capacity":"6"}]}`).
			want(t, "capacity as a string", 400, "invalid_request")

		// A booking, with its Idempotency-Key replayed.
		req := map[string]any{"store_id": e.s1, "slot": day + "T18:00", "party_size": 3}
		var first, again struct{ Booking bookingJSON }
		e.do(alice.token, "POST", "/bookings", req, "Idempotency-Key", "b-1").ok(t, "book", 201, &first)
		r := e.do(alice.token, "POST", "/bookings", req, "Idempotency-Key", "b-1")
		r.ok(t, "replay", 201, &again)
		if again.Booking.ID != first.Booking.ID || r.header.Get("Idempotent-Replayed") != "true" ||
			first.Booking.Status != "booked" || first.Booking.StoreID != e.s1 || first.Booking.SlotEnd != "19:30" || first.Booking.OpenID != alice.openid {
			t.Fatalf("book %+v, replay %+v %v", first.Booking, again.Booking, r.header)
		}
		if s := e.slots(t, e.s1); s[1].Taken != 3 {
			t.Fatalf("after one booking (and its replay): %+v", s[1])
		}
		id := first.Booking.ID

		// Refusals.
		e.do(bob.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": day + "T18:00", "party_size": 2}).
			want(t, "over capacity", 409, "slot_full")
		e.do(alice.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": day + "T18:00", "party_size": 1}).
			want(t, "a second booking of the slot", 409, "already_booked")
		e.do(bob.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": day + "T18:00", "party_size": 0}).
			want(t, "party 0", 400, "invalid_request")
		e.do(bob.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": "2026-12-06T09:00", "party_size": 1}).
			want(t, "past", 422, "slot_past")
		e.do(bob.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": day + "T15:00", "party_size": 1}).
			want(t, "no slot", 404, "slot_not_found")
		e.do(bob.token, "POST", "/bookings", map[string]any{"store_id": e.shut, "slot": day + "T18:00", "party_size": 1}).
			want(t, "closed", 409, "store_closed")
		e.do(admin, "POST", "/bookings", req).want(t, "admin books", 401, "invalid_token")
		e.do(admin, "PUT", "/stores/"+e.s1+"/slots", map[string]any{"date": day, "slots": []map[string]any{
			{"start": "12:00", "end": "13:30", "capacity": 6}, {"start": "18:00", "end": "19:30", "capacity": 2}}}).
			want(t, "capacity below taken", 409, "capacity_below_taken")

		// Lists: the user's own, and the store's day for its staff.
		var mine struct{ Bookings []bookingJSON }
		e.do(alice.token, "GET", "/bookings", nil).ok(t, "mine", 200, &mine)
		if len(mine.Bookings) != 1 || mine.Bookings[0].ID != id {
			t.Fatalf("mine: %+v", mine)
		}
		e.do(bob.token, "GET", "/bookings", nil).ok(t, "bob's", 200, &mine)
		if len(mine.Bookings) != 0 {
			t.Fatalf("bob sees %+v", mine)
		}
		e.do(bob.token, "GET", "/bookings/"+id, nil).want(t, "another's booking", 404, "booking_not_found")
		e.do(staff2.token, "GET", "/stores/"+e.s1+"/bookings?date="+day, nil).want(t, "other store's day", 403, "not_store_staff")
		e.do(bob.token, "GET", "/stores/"+e.s1+"/bookings?date="+day, nil).want(t, "a user's day", 403, "not_staff")
		var dayList struct{ Bookings []bookingJSON }
		e.do(staff1.token, "GET", "/stores/"+e.s1+"/bookings?date="+day, nil).ok(t, "staff day", 200, &dayList)
		if len(dayList.Bookings) != 1 || dayList.Bookings[0].PartySize != 3 {
			t.Fatalf("day: %+v", dayList)
		}

		// Check-in by the store's staff only.
		e.do(staff2.token, "POST", "/bookings/"+id+"/check-in", nil).want(t, "other store's staff", 403, "not_store_staff")
		e.do(alice.token, "POST", "/bookings/"+id+"/check-in", nil).want(t, "the user", 403, "not_staff")
		var in struct{ Booking bookingJSON }
		e.do(staff1.token, "POST", "/bookings/"+id+"/check-in", nil).ok(t, "check-in", 200, &in)
		if in.Booking.Status != "checked_in" {
			t.Fatalf("checked in: %+v", in.Booking)
		}
		e.do(admin, "POST", "/bookings/"+id+"/check-in", nil).want(t, "twice", 409, "booking_not_active")
		e.do(alice.token, "POST", "/bookings/"+id+"/cancel", nil).want(t, "cancel checked in", 409, "booking_not_active")

		// Cancels racing over HTTP give the seats back once.
		var lunch struct{ Booking bookingJSON }
		e.do(bob.token, "POST", "/bookings", map[string]any{"store_id": e.s1, "slot": day + "T12:00", "party_size": 5}).ok(t, "lunch", 201, &lunch)
		e.do(alice.token, "POST", "/bookings/"+lunch.Booking.ID+"/cancel", nil).want(t, "another's cancel", 404, "booking_not_found")
		var wg sync.WaitGroup
		statuses := make(chan int, 10)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := bob.token
				if i%3 == 0 {
					tok = admin
				}
				statuses <- e.do(tok, "POST", "/bookings/"+lunch.Booking.ID+"/cancel", nil).status
			}()
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			if s != 200 {
				t.Fatalf("a concurrent cancel answered %d", s)
			}
		}
		if s := e.slots(t, e.s1); s[0].Taken != 0 || s[1].Taken != 3 {
			t.Fatalf("after the cancels: %+v", s)
		}
	})
}
