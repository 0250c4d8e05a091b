package booking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store"
)

// Location is the stores' local time, China Standard Time (UTC+8, no
// daylight saving), in which slot days and times are given: outlet's, in
// which store hours are given.
var Location = outlet.CST

// Limits.
const (
	MaxSlotsPerDay = 24   // slots of one store and day (one Write changes them all)
	MaxCapacity    = 1000 // seats of one slot
	MaxPartySize   = 20   // seats of one booking
	// MaxDaysAhead is how far ahead slots may be defined and booked.
	MaxDaysAhead = 90
)

// Booking states.
const (
	StatusBooked    = "booked"
	StatusCancelled = "cancelled"
	StatusCheckedIn = "checked_in"
)

// Booking is one party's seats in one slot, stored as answered.
type Booking struct {
	ID          string     `json:"id"`
	OpenID      string     `json:"openid"`
	StoreID     string     `json:"store_id"`
	Slot        string     `json:"slot"`     // "YYYY-MM-DDTHH:MM", the store's local time
	SlotEnd     string     `json:"slot_end"` // "HH:MM"
	PartySize   int        `json:"party_size"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	CancelledBy string     `json:"cancelled_by,omitempty"` // "user" or "admin"
	CheckedInAt *time.Time `json:"checked_in_at,omitempty"`
}

// Start returns the slot's start instant.
func (b Booking) Start() time.Time {
	t, _ := parseSlot(b.Slot)
	return t
}

// Errors, by when they are returned.
var (
	// ErrSlotNotFound is returned when a booking names a slot the store does not have.
	ErrSlotNotFound = apperr.New(apperr.NotFound, "slot_not_found", "the store has no such slot")
	// ErrSlotFull is returned when the slot has fewer free seats than the party.
	ErrSlotFull = apperr.New(apperr.Conflict, "slot_full", "not enough free seats in this slot")
	// ErrAlreadyBooked is returned when the user already holds a live
	// (booked or checked-in) booking of the slot: one per user and slot.
	ErrAlreadyBooked = apperr.New(apperr.Conflict, "already_booked",
		"you already have a booking for this slot; cancel it to book another party size")
	// ErrSlotPast is returned when a booking is made for a slot that has started.
	ErrSlotPast = apperr.New(apperr.Unprocessable, "slot_past", "the slot has already started")
	// ErrCapacityBelowTaken is returned when a slot change would leave a
	// slot with fewer seats than are booked (a lower capacity, or a removed slot).
	ErrCapacityBelowTaken = apperr.New(apperr.Conflict, "capacity_below_taken",
		"the slot has more seats booked than the new capacity; cancel bookings first")
	// ErrBookingNotFound is returned for an unknown booking, or another user's.
	ErrBookingNotFound = apperr.New(apperr.NotFound, "booking_not_found", "no such booking")
	// ErrNotBooked is returned when a cancelled or checked-in booking is
	// checked in or (checked in) cancelled.
	ErrNotBooked = apperr.New(apperr.Conflict, "booking_not_active", "the booking is cancelled or already checked in")
	// ErrStoreClosed is returned when a booking is made at a store that is
	// closed at the slot's start (its status, or its hours then): outlet's
	// error. Its hours now do not matter: a booking is for later.
	ErrStoreClosed = outlet.ErrStoreClosed
	// ErrNotStoreStaff is returned when staff of another store (or of no
	// one store) act on a store's bookings: outlet's error.
	ErrNotStoreStaff = outlet.ErrNotStoreStaff
	// ErrNoStores is returned when bookings are used without a store service.
	ErrNoStores = apperr.New(apperr.Unprocessable, "stores_unavailable", "this shop has no stores")
	// ErrBusy is returned when concurrent capacity changes kept changing the
	// slot through every attempt; the client tries again.
	ErrBusy = apperr.New(apperr.Conflict, "conflict", "the slot changed meanwhile; try again")
)

// Stores is the physical-store side of bookings; *outlet.Service
// implements it.
type Stores interface {
	// Get returns a store, or outlet's ErrStoreNotFound.
	Get(ctx context.Context, id string) (outlet.Store, error)
	// CheckStaffOf returns nil when openid is staff of storeID, else
	// outlet's ErrNotStaff, or ErrNotStoreStaff for staff of another store
	// or of none.
	CheckStaffOf(ctx context.Context, openid, storeID string) error
}

// Reminder sends a booking's reminder. It must send at most once per
// booking id however often it is called (the job may run twice), and only
// to a user who allowed it; it reports whether a message went out.
type Reminder interface {
	Remind(ctx context.Context, b Booking) (bool, error)
}

// Options are the collaborators and settings of a Service.
type Options struct {
	Stores Stores           // nil: every booking route answers ErrNoStores
	Now    func() time.Time // nil: time.Now
	// Reminder, when set, is told of each booked booking RemindBefore its
	// slot's start, by Remind (the timer's job: function order-expire).
	// Bookings are indexed for it whether it is set or not.
	Reminder     Reminder
	RemindBefore time.Duration
}

// Service keeps slots and bookings. It is safe for concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service { return &Service{st: st, o: o} }

func (s *Service) now() time.Time {
	if s.o.Now == nil {
		return time.Now()
	}
	return s.o.Now()
}

func (s *Service) stores() (Stores, error) {
	if s.o.Stores == nil {
		return nil, ErrNoStores
	}
	return s.o.Stores, nil
}

// Keys (see the package doc).
func slotKey(storeID, slot string) store.Key {
	return store.Key{PK: "booking#slot#" + storeID, SK: slot}
}
func takenKey(storeID, slot string) store.Key {
	return store.Key{PK: "booking#taken#" + storeID, SK: slot}
}
func idKey(id string) store.Key   { return store.Key{PK: "booking#id#" + id, SK: "b"} }
func userPK(openid string) string { return "booking#u#" + openid }
func userKey(openid, id string) store.Key {
	return store.Key{PK: userPK(openid), SK: id}
}
func dayPK(storeID, day string) string { return "booking#d#" + storeID + "#" + day }
func dayKey(b Booking) store.Key {
	day, start, _ := splitSlot(b.Slot)
	return store.Key{PK: dayPK(b.StoreID, day), SK: start + "#" + b.ID}
}

func holdKey(b Booking) store.Key {
	return store.Key{PK: "booking#hold#" + b.StoreID + "#" + b.Slot, SK: b.OpenID}
}

const remindPK = "booking#remind"

func remindKey(b Booking) store.Key {
	return store.Key{PK: remindPK, SK: fmt.Sprintf("%012d#%s", b.Start().Unix(), b.ID)}
}

// newID returns a booking id: 12 hex digits of the creation time in
// milliseconds, then 12 random hex digits, so that a user's list sorts by
// creation.
func newID(now time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

func validID(id string) bool { return ident.Valid(id, 1, 64, "") }

func checkStoreID(id string) error {
	if !outlet.ValidID(id) {
		return apperr.Invalidf(`store id must be 1 to 64 letters, digits, "_" or "-"`)
	}
	return nil
}

// ParseDay parses a day "YYYY-MM-DD" (store local time).
func ParseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", s, Location)
	if err != nil || t.Format("2006-01-02") != s {
		return time.Time{}, apperr.Invalidf(`date must be a day as YYYY-MM-DD, e.g. "2026-12-06"`)
	}
	return t, nil
}

// parseSlot parses a slot name "YYYY-MM-DDTHH:MM" (store local time).
func parseSlot(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, Location)
	if err != nil || t.Format("2006-01-02T15:04") != s {
		return time.Time{}, apperr.Invalidf(`field "slot" must be a slot as YYYY-MM-DDTHH:MM (China Standard Time), e.g. "2026-12-06T18:00"`)
	}
	return t, nil
}

func splitSlot(slot string) (day, start string, ok bool) {
	if len(slot) != len("2006-01-02T15:04") {
		return "", "", false
	}
	return slot[:10], slot[11:], true
}
