package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
)

// TestBookingsThroughDev walks the bookings function through `minifn dev`
// with the real stores function, WeChat's message push and the
// order-expire timer: the merchant opens a store and a slot starting in
// about an hour, a user who accepted the reminder popup and one who did
// not book it, the slot's seats add up, the store's staff see the day and
// check a party in, a cancel gives the seats back once, and the timer,
// run twice, sends one reminder: to the user who accepted.
func TestBookingsThroughDev(t *testing.T) {
	const tmpl = "TMPL_booking_remind"
	s := newShopWith(t, func(c *app.Config) { c.Booking.SubscribeBookingTemplate = tmpl })
	a := s.call(t, "POST", "/stores", s.admin, `{"name":"Center","address":"1 Road","lat":31.23,"lng":121.47}`)
	if a.status != 201 {
		t.Fatalf("store: %d %s", a.status, a.raw)
	}
	storeID := a.body["store"].(map[string]any)["id"].(string)

	// A slot starting in 70 minutes (China Standard Time, as slots are
	// given), inside the default 2h lead of the reminder.
	cst := time.FixedZone("CST", 8*3600)
	start := time.Now().In(cst).Add(70 * time.Minute).Truncate(time.Minute)
	day, from, until := start.Format("2006-01-02"), start.Format("15:04"), start.Add(30*time.Minute).Format("15:04")
	if start.Add(30*time.Minute).Format("2006-01-02") != day {
		until = "24:00"
	}
	slots := fmt.Sprintf(`{"date":%q,"slots":[{"start":%q,"end":%q,"capacity":6}]}`, day, from, until)
	wantError(t, "a user defines slots", s.call(t, "PUT", "/stores/"+storeID+"/slots", s.alice, slots), 403, "forbidden")
	if a := s.call(t, "PUT", "/stores/"+storeID+"/slots", s.admin, slots); a.status != 200 {
		t.Fatalf("slots: %d %s", a.status, a.raw)
	}

	// Alice accepts the reminder in the popup: WeChat holds one send and
	// pushes the event, which banks her credit (function wx-push).
	_, aliceID := mintCode(t, s.base, "alice")
	if a := post(t, s.base+"/_emulator/push", `{"event":"subscribe_msg_popup_event","user":"alice","fields":{"List":{"TemplateId":"`+tmpl+`","SubscribeStatusString":"accept"}}}`); a.status != 200 {
		t.Fatalf("push: %d %s", a.status, a.raw)
	}

	slot := day + "T" + from
	book := func(token string, party int) answer {
		return s.call(t, "POST", "/bookings", token, fmt.Sprintf(`{"store_id":%q,"slot":%q,"party_size":%d}`, storeID, slot, party))
	}
	a = book(s.alice, 2)
	if a.status != 201 {
		t.Fatalf("alice books: %d %s", a.status, a.raw)
	}
	aliceBooking := a.body["booking"].(map[string]any)["id"].(string)
	a = book(s.bob, 3)
	if a.status != 201 {
		t.Fatalf("bob books: %d %s", a.status, a.raw)
	}
	bobBooking := a.body["booking"].(map[string]any)["id"].(string)
	wantError(t, "alice books the slot again", book(s.alice, 1), 409, "already_booked")
	wantError(t, "over the capacity", book(s.login(t, "dave"), 2), 409, "slot_full")
	taken := func() float64 {
		a := s.call(t, "GET", "/stores/"+storeID+"/slots?date="+day, s.alice, "")
		if a.status != 200 {
			t.Fatalf("slots: %d %s", a.status, a.raw)
		}
		return a.body["slots"].([]any)[0].(map[string]any)["taken"].(float64)
	}
	if n := taken(); n != 5 {
		t.Fatalf("taken %v, want 5", n)
	}

	// Bob cancels, twice: his three seats come back once.
	for range 2 {
		if a := s.call(t, "POST", "/bookings/"+bobBooking+"/cancel", s.bob, ""); a.status != 200 {
			t.Fatalf("cancel: %d %s", a.status, a.raw)
		}
	}
	if n := taken(); n != 2 {
		t.Fatalf("taken %v after the cancel, want 2", n)
	}

	// The timer, twice: one reminder, to alice, who accepted.
	for range 2 {
		if a := post(t, s.base+"/_minifn/jobs/order-expire", ""); a.status != 200 {
			t.Fatalf("order-expire: %d %s", a.status, a.raw)
		}
	}
	a = do(t, "GET", s.base+"/_emulator/messages?openid="+url.QueryEscape(aliceID), "", nil)
	msgs, _ := a.body["messages"].([]any)
	if len(msgs) != 1 || !strings.Contains(a.raw, tmpl) || !strings.Contains(a.raw, aliceBooking) {
		t.Fatalf("alice's reminders: %s", a.raw)
	}
	if a := do(t, "GET", s.base+"/_emulator/messages", "", nil); len(a.body["messages"].([]any)) != 1 {
		t.Fatalf("messages: %s", a.raw)
	}

	// Carol, staff of the store, sees the day and checks alice in.
	code, carolID := mintCode(t, s.base, "carol")
	carol := login(t, s.base, code).str("token")
	if a := s.call(t, "PUT", "/staff/"+carolID, s.admin, `{"store_id":"`+storeID+`"}`); a.status != 200 {
		t.Fatalf("staff: %d %s", a.status, a.raw)
	}
	a = s.call(t, "GET", "/stores/"+storeID+"/bookings?date="+day, carol, "")
	if a.status != 200 || len(a.body["bookings"].([]any)) != 2 {
		t.Fatalf("the day: %d %s", a.status, a.raw)
	}
	wantError(t, "alice checks herself in", s.call(t, "POST", "/bookings/"+aliceBooking+"/check-in", s.alice, ""), 403, "not_staff")
	if a := s.call(t, "POST", "/bookings/"+aliceBooking+"/check-in", carol, ""); a.status != 200 ||
		a.body["booking"].(map[string]any)["status"] != "checked_in" {
		t.Fatalf("check-in: %d %s", a.status, a.raw)
	}
}
