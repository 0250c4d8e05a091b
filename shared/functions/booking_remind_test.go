package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/bookingfn"
	"github.com/minifn/minifn/shared/functions/orderfn"
	"github.com/minifn/minifn/shared/outlet"
)

const bookingTmpl = "TMPL_booking_remind_01"

// TestBookingReminder: a user who accepted the reminder template in
// wx.requestSubscribeMessage (the emulator holds the sends; the
// Mini-Program reports them at POST /me/subscriptions) gets one reminder
// before the slot from the order-expire timer, however many of its runs
// overlap and repeat; a user who allowed nothing, and a cancelled booking,
// get none. The message is checked as the WeChat emulator received it.
func TestBookingReminder(t *testing.T) {
	edit := func(c *app.Config) {
		c.Booking = app.Booking{SubscribeBookingTemplate: bookingTmpl, BookingRemindBefore: 2 * time.Hour,
			SubscribeBookingFields: "character_string1=booking_id,time2=slot,number3=party_size,thing4=store_id"}
	}
	engEachWith(t, edit, func(t *testing.T, e *engEnv) {
		fn, err := bookingfn.Bookings.Build(e.app)
		if err != nil {
			t.Fatal(err)
		}
		bsrv := httptest.NewServer(fn.Handler)
		t.Cleanup(bsrv.Close)
		timer, err := orderfn.OrderExpire.Build(e.app)
		if err != nil {
			t.Fatal(err)
		}
		name, addr, lat, lng := "store", "1 Road", 31.23, 121.47
		outl, _, err := outlet.New(e.app.Store, outlet.Options{Now: e.clock.Now}).Create(context.Background(),
			outlet.Edit{Name: &name, Address: &addr, Lat: &lat, Lng: &lng}, "")
		if err != nil {
			t.Fatal(err)
		}
		book := func(u engUser, slot string, party int) string {
			t.Helper()
			var out struct {
				Booking struct{ ID string } `json:"booking"`
			}
			r := doJSON(t, bsrv.URL, u.token, "POST", "/bookings", map[string]any{"store_id": outl.ID, "slot": slot, "party_size": party}, &out)
			if r != http.StatusCreated {
				t.Fatalf("book: %d", r)
			}
			return out.Booking.ID
		}

		cst := time.FixedZone("CST", 8*3600)
		tomorrow := e.clock.Now().In(cst).AddDate(0, 0, 1)
		day := tomorrow.Format("2006-01-02")
		if r := doJSON(t, bsrv.URL, engAdmin, "PUT", "/stores/"+outl.ID+"/slots", map[string]any{"date": day,
			"slots": []map[string]any{{"start": "18:00", "end": "19:30", "capacity": 10}}}, nil); r != http.StatusOK {
			t.Fatalf("define slots: %d", r)
		}
		alice, bob, carol := e.login("alice", nil), e.login("bob", nil), e.login("carol", nil)
		// Alice and Carol accept three times (three popups): three sends
		// each at WeChat, three credits each here.
		for _, u := range []engUser{alice, carol} {
			e.wx.Accept(engAppID, u.openid, bookingTmpl, 3)
			for range 3 {
				r := e.do(u.token, "POST", "/me/subscriptions", map[string]any{"results": map[string]string{bookingTmpl: "accept"}})
				if r.status != http.StatusOK {
					t.Fatalf("report: %d %s", r.status, r.body)
				}
			}
		}
		var credits struct {
			Credits map[string]int `json:"credits"`
		}
		r := e.do(alice.token, "POST", "/me/subscriptions", map[string]any{"results": map[string]string{bookingTmpl: "reject"}})
		if err := json.Unmarshal(r.body, &credits); err != nil || credits.Credits[bookingTmpl] != 3 {
			t.Fatalf("the booking template banks no credit: %d %s", r.status, r.body)
		}
		slot := day + "T18:00"
		aliceID, _, carolID := book(alice, slot, 2), book(bob, slot, 1), book(carol, slot, 4)
		if r := doJSON(t, bsrv.URL, engAdmin, "POST", "/bookings/"+carolID+"/cancel", nil, nil); r != http.StatusOK {
			t.Fatalf("cancel: %d", r)
		}

		run := func() {
			var wg sync.WaitGroup
			for range 4 { // timer runs that overlap
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := timer.Job(context.Background()); err != nil {
						t.Errorf("order-expire: %v", err)
					}
				}()
			}
			wg.Wait()
		}
		run()
		if n := len(e.wx.Sent(alice.openid)); n != 0 {
			t.Fatalf("a day ahead: %d sent", n)
		}
		e.clock.Set(time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 16, 30, 0, 0, cst)) // 1h30 before
		run()
		run()
		sent := e.wx.Sent(alice.openid)
		if len(sent) != 1 {
			t.Fatalf("alice got %d reminders: %+v", len(sent), sent)
		}
		m := sent[0]
		want := map[string]string{"character_string1": aliceID, "time2": day + " 18:00", "number3": "2", "thing4": outl.ID}
		if m.TemplateID != bookingTmpl || m.Page != "pages/booking/detail?id="+aliceID || fmt.Sprint(m.Data) != fmt.Sprint(want) ||
			m.State != "formal" {
			t.Fatalf("reminder: %+v", m)
		}
		if n := len(e.wx.Sent(bob.openid)); n != 0 {
			t.Fatalf("bob, who allowed nothing, got %d", n)
		}
		if n := len(e.wx.Sent(carol.openid)); n != 0 {
			t.Fatalf("carol's cancelled booking got %d", n)
		}
	})
}

// doJSON sends body (JSON, when not nil) to base+path with token and
// decodes the answer into out (when not nil); it returns the status.
func doJSON(t *testing.T, base, token, method, path string, body, out any) int {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}
