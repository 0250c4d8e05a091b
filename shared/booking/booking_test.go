package booking_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/booking"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// now is 10:00 in Beijing on 2026-12-06; the test day is the next.
var now = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

const day = "2026-12-07"

type env struct {
	st    store.Store
	svc   *booking.Service
	clock *storetest.Clock
	// Stores (package outlet): s1 and s2 open at any hour, shut closed,
	// lunch open 11:00 to 14:00 every day. Staff: staff1 of s1, staff2 of
	// s2, floater of no one store.
	s1, s2, shut, lunch string
}

func each(t *testing.T, f func(t *testing.T, e env)) {
	eachWith(t, nil, f)
}

func eachWith(t *testing.T, rem booking.Reminder, f func(t *testing.T, e env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clock := storetest.NewClock(now)
			st := b.Open(t, clock.Now)
			ol := outlet.New(st, outlet.Options{Now: clock.Now})
			e := env{st: st, clock: clock,
				svc: booking.New(st, booking.Options{Now: clock.Now, Stores: ol, Reminder: rem, RemindBefore: 2 * time.Hour})}
			every := outlet.Hours{}
			for _, d := range outlet.Days {
				every[d] = []outlet.Range{{Open: "11:00", Close: "14:00"}}
			}
			for _, s := range []struct {
				id     *string
				status string
				hours  *outlet.Hours
			}{{&e.s1, outlet.Open, nil}, {&e.s2, outlet.Open, nil}, {&e.shut, outlet.Closed, nil}, {&e.lunch, outlet.Open, &every}} {
				name, addr, lat, lng := "store", "1 Road", 31.23, 121.47
				o, _, err := ol.Create(context.Background(), outlet.Edit{Name: &name, Address: &addr, Lat: &lat, Lng: &lng,
					Status: &s.status, Hours: s.hours}, "")
				if err != nil {
					t.Fatal(err)
				}
				*s.id = o.ID
			}
			for openid, at := range map[string]string{"staff1": e.s1, "staff2": e.s2, "floater": ""} {
				if _, err := ol.GrantStaff(context.Background(), openid, at); err != nil {
					t.Fatal(err)
				}
			}
			f(t, e)
		})
	}
}

func (e env) setDay(t *testing.T, store string, defs ...booking.SlotDef) []booking.Slot {
	t.Helper()
	slots, err := e.svc.SetDay(context.Background(), store, day, defs)
	if err != nil {
		t.Fatalf("set day: %v", err)
	}
	return slots
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if !apperr.HasCode(err, code) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// checkSeats asserts the seats invariant of a slot: its seats taken equal
// the party sizes of its live (booked or checked-in) bookings, and never
// exceed its capacity.
func checkSeats(t *testing.T, e env, store, start string) int {
	t.Helper()
	ctx := context.Background()
	slots, err := e.svc.Day(ctx, store, day)
	if err != nil {
		t.Fatal(err)
	}
	var slot *booking.Slot
	for i := range slots {
		if slots[i].Start == start {
			slot = &slots[i]
		}
	}
	if slot == nil {
		t.Fatalf("no slot %s in %+v", start, slots)
	}
	bs, err := e.svc.StoreDay(ctx, booking.Caller{Admin: true}, store, day)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, b := range bs {
		if b.Slot == slot.Slot && b.Status != booking.StatusCancelled {
			live += b.PartySize
		}
	}
	if slot.Taken != live || slot.Taken > slot.Capacity || slot.Available != slot.Capacity-slot.Taken {
		t.Fatalf("slot %s: taken %d, capacity %d, available %d; live bookings hold %d seats",
			slot.Slot, slot.Taken, slot.Capacity, slot.Available, live)
	}
	return slot.Taken
}

func TestRushNeverOverCapacity(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.setDay(t, e.s1, booking.SlotDef{Start: "18:00", End: "19:30", Capacity: 10})
		var wg sync.WaitGroup
		var booked, full atomic.Int64
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				party := 1 + i%3
				_, err := e.svc.Book(ctx, fmt.Sprintf("u%d", i), booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: party}, "")
				switch {
				case err == nil:
					booked.Add(int64(party))
				case errors.Is(err, booking.ErrSlotFull):
					full.Add(1)
				default:
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("book: %v", err)
		}
		taken := checkSeats(t, e, e.s1, "18:00")
		// Parties of 1 to 3 against 10 seats: the slot ends full or with
		// fewer free seats than the smallest refused party.
		if int64(taken) != booked.Load() || taken < 8 || full.Load() == 0 {
			t.Fatalf("taken %d, booked %d seats, %d refused", taken, booked.Load(), full.Load())
		}
	})
}

// TestRushWithCapacityChanges races bookings against the merchant lowering
// and raising the capacity: whatever the order, the seats taken never
// exceed the capacity in force, and a lowering below the seats taken is
// refused.
func TestRushWithCapacityChanges(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.setDay(t, e.s1, booking.SlotDef{Start: "12:00", End: "13:00", Capacity: 12})
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.Book(ctx, fmt.Sprintf("u%d", i), booking.BookRequest{StoreID: e.s1, Slot: day + "T12:00", PartySize: 1 + i%2}, "")
				if err != nil && !errors.Is(err, booking.ErrSlotFull) {
					errs <- err
				}
			}()
		}
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.SetDay(ctx, e.s1, day, []booking.SlotDef{{Start: "12:00", End: "13:00", Capacity: 6 + 2*i}})
				if err != nil && !errors.Is(err, booking.ErrCapacityBelowTaken) && !errors.Is(err, booking.ErrBusy) {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		checkSeats(t, e, e.s1, "12:00")
	})
}

func TestConcurrentCancelGivesSeatsBackOnce(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.setDay(t, e.s1, booking.SlotDef{Start: "18:00", End: "19:00", Capacity: 8})
		other, err := e.svc.Book(ctx, "bob", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 2}, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 4}, "")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := booking.Caller{OpenID: "alice"}
				if i%4 == 0 {
					c = booking.Caller{Admin: true}
				}
				got, err := e.svc.Cancel(ctx, c, b.Booking.ID)
				if err == nil && got.Status != booking.StatusCancelled {
					err = fmt.Errorf("cancel answered %s", got.Status)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("cancel: %v", err)
		}
		if taken := checkSeats(t, e, e.s1, "18:00"); taken != other.Booking.PartySize {
			t.Fatalf("taken %d after the cancel, want %d (bob's)", taken, other.Booking.PartySize)
		}
		// The seats are free again: a party of 6 fits.
		if _, err := e.svc.Book(ctx, "carol", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 6}, ""); err != nil {
			t.Fatalf("rebook: %v", err)
		}
		checkSeats(t, e, e.s1, "18:00")
	})
}

func TestSlots(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		if got, err := e.svc.Day(ctx, e.s1, day); err != nil || len(got) != 0 {
			t.Fatalf("no slots yet: %v %v", got, err)
		}
		slots := e.setDay(t, e.s1, booking.SlotDef{Start: "18:00", End: "19:30", Capacity: 4},
			booking.SlotDef{Start: "11:30", End: "13:00", Capacity: 6})
		if len(slots) != 2 || slots[0].Slot != day+"T11:30" || slots[1].Available != 4 {
			t.Fatalf("slots: %+v", slots)
		}
		if _, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 3}, ""); err != nil {
			t.Fatal(err)
		}
		// Capacity never below the seats taken; a slot with bookings stays.
		_, err := e.svc.SetDay(ctx, e.s1, day, []booking.SlotDef{{Start: "18:00", End: "19:30", Capacity: 2}})
		wantCode(t, "lower below taken", err, "capacity_below_taken")
		_, err = e.svc.SetDay(ctx, e.s1, day, []booking.SlotDef{{Start: "11:30", End: "13:00", Capacity: 6}})
		wantCode(t, "remove a booked slot", err, "capacity_below_taken")
		// Down to the seats taken, and the empty lunch slot removed: fine.
		slots = e.setDay(t, e.s1, booking.SlotDef{Start: "18:00", End: "20:00", Capacity: 3})
		if len(slots) != 1 || slots[0].Taken != 3 || slots[0].Available != 0 || slots[0].End != "20:00" {
			t.Fatalf("after the change: %+v", slots)
		}
		_, err = e.svc.Book(ctx, "bob", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 1}, "")
		wantCode(t, "full", err, "slot_full")
		_, err = e.svc.Book(ctx, "bob", booking.BookRequest{StoreID: e.s1, Slot: day + "T11:30", PartySize: 1}, "")
		wantCode(t, "removed slot", err, "slot_not_found")

		for _, c := range []struct {
			name string
			date string
			defs []booking.SlotDef
		}{
			{"bad date", "2026-12-7", nil},
			{"past day", "2026-12-05", nil},
			{"far day", "2027-06-01", nil},
			{"bad time", day, []booking.SlotDef{{Start: "6pm", End: "19:00", Capacity: 1}}},
			{"end before start", day, []booking.SlotDef{{Start: "19:00", End: "18:00", Capacity: 1}}},
			{"zero capacity", day, []booking.SlotDef{{Start: "18:00", End: "19:00", Capacity: 0}}},
			{"huge capacity", day, []booking.SlotDef{{Start: "18:00", End: "19:00", Capacity: booking.MaxCapacity + 1}}},
			{"overlap", day, []booking.SlotDef{{Start: "18:00", End: "19:00", Capacity: 1}, {Start: "18:30", End: "20:00", Capacity: 1}}},
			{"duplicate", day, []booking.SlotDef{{Start: "18:00", End: "19:00", Capacity: 1}, {Start: "18:00", End: "19:00", Capacity: 1}}},
		} {
			_, err := e.svc.SetDay(ctx, e.s1, c.date, c.defs)
			wantCode(t, c.name, err, "invalid_request")
		}
		_, err = e.svc.SetDay(ctx, "nowhere", day, nil)
		wantCode(t, "unknown store", err, "store_not_found")
		// A closed store may have its slots defined; it takes no bookings.
		if _, err := e.svc.SetDay(ctx, e.shut, day, []booking.SlotDef{{Start: "18:00", End: "19:00", Capacity: 2}}); err != nil {
			t.Fatalf("closed store's slots: %v", err)
		}
		_, err = e.svc.Book(ctx, "bob", booking.BookRequest{StoreID: e.shut, Slot: day + "T18:00", PartySize: 1}, "")
		wantCode(t, "closed store", err, "store_closed")
		checkSeats(t, e, e.s1, "18:00")
	})
}

func TestBookRefusals(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.setDay(t, e.s1, booking.SlotDef{Start: "09:00", End: "10:00", Capacity: 30})
		ok := booking.BookRequest{StoreID: e.s1, Slot: day + "T09:00", PartySize: 2}
		for _, c := range []struct {
			name string
			req  booking.BookRequest
			code string
		}{
			{"party 0", booking.BookRequest{StoreID: e.s1, Slot: ok.Slot, PartySize: 0}, "invalid_request"},
			{"party too big", booking.BookRequest{StoreID: e.s1, Slot: ok.Slot, PartySize: booking.MaxPartySize + 1}, "invalid_request"},
			{"bad slot", booking.BookRequest{StoreID: e.s1, Slot: "tomorrow 9am", PartySize: 1}, "invalid_request"},
			{"bad store id", booking.BookRequest{StoreID: "s 1", Slot: ok.Slot, PartySize: 1}, "invalid_request"},
			{"unknown store", booking.BookRequest{StoreID: "nowhere", Slot: ok.Slot, PartySize: 1}, "store_not_found"},
			{"no such slot", booking.BookRequest{StoreID: e.s1, Slot: day + "T09:30", PartySize: 1}, "slot_not_found"},
			{"past slot", booking.BookRequest{StoreID: e.s1, Slot: "2026-12-06T09:00", PartySize: 1}, "slot_past"},
		} {
			_, err := e.svc.Book(ctx, "alice", c.req, "")
			wantCode(t, c.name, err, c.code)
		}
		// A store's hours are checked at the slot's start, not now: the
		// lunch-only store (11:00 to 14:00) takes a 12:00 booking at 10:00,
		// and never one for 18:00.
		if _, err := e.svc.SetDay(ctx, e.lunch, day, []booking.SlotDef{{Start: "12:00", End: "13:00", Capacity: 4},
			{Start: "18:00", End: "19:00", Capacity: 4}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.lunch, Slot: day + "T12:00", PartySize: 2}, ""); err != nil {
			t.Fatalf("lunch booked before opening time: %v", err)
		}
		_, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.lunch, Slot: day + "T18:00", PartySize: 2}, "")
		wantCode(t, "outside the hours", err, "store_closed")
		// The slot passes: booking it is refused, as cancelling it by its user.
		b, err := e.svc.Book(ctx, "alice", ok, "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Set(time.Date(2026, 12, 7, 9, 0, 0, 0, booking.Location))
		_, err = e.svc.Book(ctx, "bob", ok, "")
		wantCode(t, "started slot", err, "slot_past")
		_, err = e.svc.Cancel(ctx, booking.Caller{OpenID: "alice"}, b.Booking.ID)
		wantCode(t, "cancel a started slot", err, "slot_past")
		// Another user's booking does not exist for them.
		_, err = e.svc.Cancel(ctx, booking.Caller{OpenID: "bob"}, b.Booking.ID)
		wantCode(t, "another's cancel", err, "booking_not_found")
		_, err = e.svc.Get(ctx, booking.Caller{OpenID: "bob"}, b.Booking.ID)
		wantCode(t, "another's get", err, "booking_not_found")
		// The admin may still cancel it.
		if got, err := e.svc.Cancel(ctx, booking.Caller{Admin: true}, b.Booking.ID); err != nil || got.CancelledBy != "admin" {
			t.Fatalf("admin cancel: %+v %v", got, err)
		}
		checkSeats(t, e, e.s1, "09:00")
	})
}

func TestIdempotentBook(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.setDay(t, e.s1, booking.SlotDef{Start: "18:00", End: "19:00", Capacity: 5})
		req := booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 2}
		var wg sync.WaitGroup
		ids := make(chan string, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := e.svc.Book(ctx, "alice", req, "key-1")
				if err != nil {
					t.Errorf("book: %v", err)
					return
				}
				ids <- b.Booking.ID
			}()
		}
		wg.Wait()
		close(ids)
		first := ""
		for id := range ids {
			if first == "" {
				first = id
			}
			if id != first {
				t.Fatalf("one key made bookings %s and %s", first, id)
			}
		}
		if taken := checkSeats(t, e, e.s1, "18:00"); taken != 2 {
			t.Fatalf("taken %d, want 2", taken)
		}
		_, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 3}, "key-1")
		if !errors.Is(err, idem.ErrKeyReused) {
			t.Fatalf("key reused for another party: %v", err)
		}
		// One live booking per user and slot, whatever the keys: racing
		// requests with new keys all lose to the first booking.
		var losers atomic.Int64
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 1}, fmt.Sprintf("other-%d", i))
				if errors.Is(err, booking.ErrAlreadyBooked) {
					losers.Add(1)
				} else {
					t.Errorf("a second booking of the slot: %v", err)
				}
			}()
		}
		wg.Wait()
		if losers.Load() != 8 {
			t.Fatalf("%d of 8 refused", losers.Load())
		}
		// Cancelled, the slot may be booked again (with another party size).
		if _, err := e.svc.Cancel(ctx, booking.Caller{OpenID: "alice"}, first); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 3}, ""); err != nil {
			t.Fatalf("book again after the cancel: %v", err)
		}
		if taken := checkSeats(t, e, e.s1, "18:00"); taken != 3 {
			t.Fatalf("taken %d, want 3", taken)
		}
	})
}

func TestCheckIn(t *testing.T) {
	each(t, func(t *testing.T, e env) {
		ctx := context.Background()
		e.setDay(t, e.s1, booking.SlotDef{Start: "18:00", End: "19:00", Capacity: 5})
		b, err := e.svc.Book(ctx, "alice", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 2}, "")
		if err != nil {
			t.Fatal(err)
		}
		id := b.Booking.ID
		_, err = e.svc.CheckIn(ctx, booking.Caller{OpenID: "staff2"}, id)
		wantCode(t, "other store's staff", err, "not_store_staff")
		_, err = e.svc.CheckIn(ctx, booking.Caller{OpenID: "floater"}, id)
		wantCode(t, "staff of no store", err, "not_store_staff")
		_, err = e.svc.CheckIn(ctx, booking.Caller{OpenID: "alice"}, id)
		wantCode(t, "not staff", err, "not_staff")
		_, err = e.svc.StoreDay(ctx, booking.Caller{OpenID: "staff2"}, e.s1, day)
		wantCode(t, "other store's day", err, "not_store_staff")
		_, err = e.svc.CheckIn(ctx, booking.Caller{OpenID: "staff1"}, "nosuchbooking")
		wantCode(t, "unknown booking", err, "booking_not_found")

		got, err := e.svc.CheckIn(ctx, booking.Caller{OpenID: "staff1"}, id)
		if err != nil || got.Status != booking.StatusCheckedIn || got.CheckedInAt == nil {
			t.Fatalf("check-in: %+v %v", got, err)
		}
		_, err = e.svc.CheckIn(ctx, booking.Caller{Admin: true}, id)
		wantCode(t, "twice", err, "booking_not_active")
		_, err = e.svc.Cancel(ctx, booking.Caller{OpenID: "alice"}, id)
		wantCode(t, "cancel after check-in", err, "booking_not_active")
		// Every copy says so: the user's list and the store's day.
		mine, _, err := e.svc.Mine(ctx, "alice", 10, "")
		if err != nil || len(mine) != 1 || mine[0].Status != booking.StatusCheckedIn {
			t.Fatalf("mine: %+v %v", mine, err)
		}
		dayList, err := e.svc.StoreDay(ctx, booking.Caller{OpenID: "staff1"}, e.s1, day)
		if err != nil || len(dayList) != 1 || dayList[0].Status != booking.StatusCheckedIn {
			t.Fatalf("day: %+v %v", dayList, err)
		}
		// A checked-in party keeps its seats.
		if taken := checkSeats(t, e, e.s1, "18:00"); taken != 2 {
			t.Fatalf("taken %d", taken)
		}
		// A cancelled booking cannot be checked in.
		c, _ := e.svc.Book(ctx, "bob", booking.BookRequest{StoreID: e.s1, Slot: day + "T18:00", PartySize: 1}, "")
		if _, err := e.svc.Cancel(ctx, booking.Caller{OpenID: "bob"}, c.Booking.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CheckIn(ctx, booking.Caller{OpenID: "staff1"}, c.Booking.ID)
		wantCode(t, "cancelled", err, "booking_not_active")
	})
}

func TestNoStores(t *testing.T) {
	st := storetest.Backends(t)[0].Open(t, func() time.Time { return now })
	svc := booking.New(st, booking.Options{Now: func() time.Time { return now }})
	_, err := svc.Book(context.Background(), "alice", booking.BookRequest{StoreID: "s1", Slot: day + "T18:00", PartySize: 1}, "")
	wantCode(t, "no stores", err, "stores_unavailable")
}

// reminders records what it is told, as the subscribe service would send.
type reminders struct {
	mu   sync.Mutex
	told map[string]int
}

func (r *reminders) Remind(_ context.Context, b booking.Booking) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.told[b.ID]++
	return true, nil
}

func TestRemindDue(t *testing.T) {
	rem := &reminders{told: map[string]int{}}
	eachWith(t, rem, func(t *testing.T, e env) {
		ctx := context.Background()
		svc, clock := e.svc, e.clock
		if _, err := svc.SetDay(ctx, e.s1, day, []booking.SlotDef{{Start: "12:00", End: "13:00", Capacity: 9},
			{Start: "18:00", End: "19:00", Capacity: 9}}); err != nil {
			t.Fatal(err)
		}
		book := func(user, start string) booking.Booking {
			b, err := svc.Book(ctx, user, booking.BookRequest{StoreID: e.s1, Slot: day + "T" + start, PartySize: 1}, "")
			if err != nil {
				t.Fatal(err)
			}
			return b.Booking
		}
		lunch, dinner, gone := book("alice", "12:00"), book("bob", "18:00"), book("carol", "12:00")
		if _, err := svc.Cancel(ctx, booking.Caller{OpenID: "carol"}, gone.ID); err != nil {
			t.Fatal(err)
		}
		run := func() int {
			n, err := svc.Remind(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := run(); n != 0 {
			t.Fatalf("a day ahead: %d sent", n)
		}
		clock.Set(time.Date(2026, 12, 7, 10, 1, 0, 0, booking.Location)) // lunch in 1h59m
		if n := run(); n != 1 || rem.count(lunch.ID) != 1 || rem.count(dinner.ID) != 0 || rem.count(gone.ID) != 0 {
			t.Fatalf("lunch due: %d sent, told %v", n, rem.told)
		}
		if n := run(); n != 0 || rem.count(lunch.ID) != 1 {
			t.Fatalf("run again: %d sent, told %v", n, rem.told)
		}
		// Dinner's start passes unreminded (the timer was down): dropped.
		clock.Set(time.Date(2026, 12, 7, 18, 5, 0, 0, booking.Location))
		if n := run(); n != 0 || rem.count(dinner.ID) != 0 {
			t.Fatalf("after the start: %d sent, told %v", n, rem.told)
		}
	})
}

func (r *reminders) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.told[id]
}
