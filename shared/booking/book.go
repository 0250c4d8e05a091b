package booking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/store"
)

// BookRequest is what POST /bookings asks for.
type BookRequest struct {
	StoreID   string `json:"store_id"`
	Slot      string `json:"slot"` // "YYYY-MM-DDTHH:MM", China Standard Time
	PartySize int    `json:"party_size"`
}

// Booked is the outcome of Book.
type Booked struct {
	Booking  Booking `json:"booking"`
	Replayed bool    `json:"-"` // an Idempotency-Key seen before: the first answer
}

// IdemBook is the Idempotency-Key action of Book.
const IdemBook = "booking-create"

// Book takes req.PartySize seats of a slot for openid. With an idemKey seen
// before from openid it books nothing and returns the first answer.
// Returns invalid_request errors (store id, slot name, party size 1 to
// MaxPartySize), ErrSlotPast, ErrSlotNotFound, ErrSlotFull,
// ErrAlreadyBooked (the user holds a live booking of the slot), outlet's
// ErrStoreNotFound, ErrStoreClosed (the store's status, or its hours at
// the slot's start), idem errors, store errors.
func (s *Service) Book(ctx context.Context, openid string, req BookRequest, idemKey string) (Booked, error) {
	if err := checkStoreID(req.StoreID); err != nil {
		return Booked{}, err
	}
	start, err := parseSlot(req.Slot)
	if err != nil {
		return Booked{}, err
	}
	if req.PartySize < 1 || req.PartySize > MaxPartySize {
		return Booked{}, apperr.Invalidf(`field "party_size" must be 1 to %d`, MaxPartySize)
	}
	ik, err := idem.New(IdemBook, openid, idemKey, req)
	if err != nil {
		return Booked{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return replayBooked(b, err)
	}
	now := s.now()
	if !start.After(now) {
		return Booked{}, ErrSlotPast
	}
	sts, err := s.stores()
	if err != nil {
		return Booked{}, err
	}
	outl, err := sts.Get(ctx, req.StoreID)
	if err != nil {
		return Booked{}, err
	}
	if !outl.OpenAt(start) {
		return Booked{}, ErrStoreClosed.WithMessage("the store is closed at %s", start.Format("2006-01-02 15:04"))
	}
	b := Booking{ID: newID(now), OpenID: openid, StoreID: req.StoreID, Slot: req.Slot,
		PartySize: req.PartySize, Status: StatusBooked, CreatedAt: now.UTC()}
	for range maxTries {
		it, err := s.st.Get(ctx, slotKey(req.StoreID, req.Slot))
		if errors.Is(err, store.ErrNotFound) {
			return Booked{}, ErrSlotNotFound
		}
		if err != nil {
			return Booked{}, err
		}
		var def SlotDef
		if err := json.Unmarshal(it.Value, &def); err != nil {
			return Booked{}, fmt.Errorf("booking: corrupt slot %s: %w", it.Key, err)
		}
		if req.PartySize > def.Capacity {
			return Booked{}, ErrSlotFull.WithMessage("the slot has %d seats", def.Capacity)
		}
		b.SlotEnd = def.End
		out := Booked{Booking: b}
		ops := []store.Op{
			// The capacity read stays the capacity: a change of the slot
			// meanwhile fails this check, and the loop reads it again.
			store.Check(it.Key).IfVersion(it.Version),
			store.Add(takenKey(req.StoreID, req.Slot), int64(req.PartySize)).AtMost(int64(def.Capacity)),
			// One live booking per user and slot, so that no one holds a
			// slot's seats under several bookings.
			store.Put(store.Item{Key: holdKey(b), Value: []byte(b.ID)}).IfAbsent(),
		}
		ops = append(ops, s.putOps(b, true)...)
		// The reminder's index item, whether or not reminders are on (the
		// timer may be configured later); it expires at the slot's start,
		// when it is of no more use.
		ops = append(ops, store.Put(store.Item{Key: remindKey(b), Value: []byte(b.ID), ExpiresAt: start}))
		if !ik.IsZero() {
			res, _ := json.Marshal(out)
			ops = append(ops, ik.Op(res, now))
		}
		err = s.st.Write(ctx, ops...)
		i := store.FailedOp(err)
		if i >= 0 && !ik.IsZero() {
			// A concurrent duplicate of this request may have won (and
			// taken the last seats, or the user's hold): its answer first.
			if res, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
				return replayBooked(res, err)
			}
		}
		switch {
		case err == nil:
			return out, nil
		case i == 1:
			return Booked{}, ErrSlotFull
		case i == 2:
			return Booked{}, ErrAlreadyBooked
		case i != 0:
			return Booked{}, err
		}
		// The slot was changed (or removed) meanwhile: read it again.
	}
	return Booked{}, ErrBusy
}

func replayBooked(b []byte, err error) (Booked, error) {
	if err != nil {
		return Booked{}, err
	}
	var out Booked
	if err := json.Unmarshal(b, &out); err != nil {
		return Booked{}, fmt.Errorf("booking: corrupt idempotency record: %w", err)
	}
	out.Replayed = true
	return out, nil
}

// putOps returns the Puts of b's three copies; the authority's is
// put-if-absent for a new booking (version checks are the caller's).
func (s *Service) putOps(b Booking, create bool) []store.Op {
	v, _ := json.Marshal(b)
	auth := store.Put(store.Item{Key: idKey(b.ID), Value: v})
	if create {
		auth = auth.IfAbsent()
	}
	return []store.Op{auth,
		store.Put(store.Item{Key: userKey(b.OpenID, b.ID), Value: v}),
		store.Put(store.Item{Key: dayKey(b), Value: v}),
	}
}

// get reads the authority of a booking and its version.
func (s *Service) get(ctx context.Context, id string) (Booking, int64, error) {
	if !validID(id) {
		return Booking{}, 0, ErrBookingNotFound
	}
	it, err := s.st.Get(ctx, idKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Booking{}, 0, ErrBookingNotFound
	}
	if err != nil {
		return Booking{}, 0, err
	}
	var b Booking
	if err := json.Unmarshal(it.Value, &b); err != nil {
		return Booking{}, 0, fmt.Errorf("booking: corrupt booking %s: %w", id, err)
	}
	return b, it.Version, nil
}

// Caller is who acts on a booking: a user (OpenID), or the admin token.
type Caller struct {
	OpenID string
	Admin  bool
}

// Get returns a booking: its user's, or any for the admin. Another user's
// is ErrBookingNotFound.
func (s *Service) Get(ctx context.Context, c Caller, id string) (Booking, error) {
	b, _, err := s.get(ctx, id)
	if err == nil && !c.Admin && b.OpenID != c.OpenID {
		return Booking{}, ErrBookingNotFound
	}
	return b, err
}

// Cancel cancels a booked booking and gives its seats back, once: a
// cancel of a cancelled booking answers it as it is and gives nothing back
// (two concurrent cancels give the seats back once). A user cancels their
// own (another's is ErrBookingNotFound), until the slot starts (then
// ErrSlotPast); the admin any. A checked-in booking is ErrNotBooked.
func (s *Service) Cancel(ctx context.Context, c Caller, id string) (Booking, error) {
	for range maxTries {
		b, v, err := s.get(ctx, id)
		if err != nil {
			return Booking{}, err
		}
		if !c.Admin && b.OpenID != c.OpenID {
			return Booking{}, ErrBookingNotFound
		}
		switch b.Status {
		case StatusCancelled:
			return b, nil
		case StatusCheckedIn:
			return Booking{}, ErrNotBooked
		}
		now := s.now()
		if !c.Admin && !b.Start().After(now) {
			return Booking{}, ErrSlotPast.WithMessage("the slot has started; ask the store to cancel")
		}
		t := now.UTC()
		b.Status, b.CancelledAt, b.CancelledBy = StatusCancelled, &t, "user"
		if c.Admin {
			b.CancelledBy = "admin"
		}
		ops := s.putOps(b, false)
		ops[0] = ops[0].IfVersion(v)
		ops = append(ops,
			// Seats taken never go below zero: a bug elsewhere fails the
			// cancel loudly rather than minting seats.
			store.Add(takenKey(b.StoreID, b.Slot), -int64(b.PartySize)).AtLeast(0),
			store.Delete(holdKey(b)),
			store.Delete(remindKey(b)))
		err = s.st.Write(ctx, ops...)
		switch i := store.FailedOp(err); {
		case err == nil:
			return b, nil
		case i != 0:
			return Booking{}, err
		}
		// Changed meanwhile (a concurrent cancel or check-in): read again.
	}
	return Booking{}, ErrBusy
}

// CheckIn marks a booked booking checked in, for staff of its store or the
// admin (c.OpenID is the staff member). Returns ErrBookingNotFound,
// ErrNotBooked (cancelled, or already checked in), ErrNotStoreStaff (staff
// of another store or of none), the store service's not_staff error.
func (s *Service) CheckIn(ctx context.Context, c Caller, id string) (Booking, error) {
	sts, err := s.stores()
	if err != nil {
		return Booking{}, err
	}
	for range maxTries {
		b, v, err := s.get(ctx, id)
		if err != nil {
			return Booking{}, err
		}
		if !c.Admin {
			if err := checkStaff(ctx, sts, c.OpenID, b.StoreID); err != nil {
				return Booking{}, err
			}
		}
		if b.Status != StatusBooked {
			return Booking{}, ErrNotBooked
		}
		t := s.now().UTC()
		b.Status, b.CheckedInAt = StatusCheckedIn, &t
		ops := s.putOps(b, false)
		ops[0] = ops[0].IfVersion(v)
		ops = append(ops, store.Delete(remindKey(b)))
		err = s.st.Write(ctx, ops...)
		switch i := store.FailedOp(err); {
		case err == nil:
			return b, nil
		case i != 0:
			return Booking{}, err
		}
	}
	return Booking{}, ErrBusy
}

func checkStaff(ctx context.Context, sts Stores, openid, storeID string) error {
	return sts.CheckStaffOf(ctx, openid, storeID)
}

// Mine returns a user's bookings, newest first, and the cursor of the next
// page ("" when none).
func (s *Service) Mine(ctx context.Context, openid string, limit int, after string) ([]Booking, string, error) {
	items, next, err := s.st.Query(ctx, userPK(openid), store.Query{Desc: true, Limit: limit, After: after})
	if err != nil {
		return nil, "", err
	}
	out, err := decodeAll(items)
	return out, next, err
}

// StoreDay returns a store's bookings of a day ("YYYY-MM-DD"), by slot,
// for staff of that store or the admin (ErrNotStoreStaff otherwise).
func (s *Service) StoreDay(ctx context.Context, c Caller, storeID, day string) ([]Booking, error) {
	if err := checkStoreID(storeID); err != nil {
		return nil, err
	}
	if _, err := ParseDay(day); err != nil {
		return nil, err
	}
	if !c.Admin {
		sts, err := s.stores()
		if err != nil {
			return nil, err
		}
		if err := checkStaff(ctx, sts, c.OpenID, storeID); err != nil {
			return nil, err
		}
	}
	out := []Booking{}
	after := ""
	for {
		items, next, err := s.st.Query(ctx, dayPK(storeID, day), store.Query{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		bs, err := decodeAll(items)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

func decodeAll(items []store.Item) ([]Booking, error) {
	out := make([]Booking, 0, len(items))
	for _, it := range items {
		var b Booking
		if err := json.Unmarshal(it.Value, &b); err != nil {
			return nil, fmt.Errorf("booking: corrupt booking %s: %w", it.Key, err)
		}
		out = append(out, b)
	}
	return out, nil
}
