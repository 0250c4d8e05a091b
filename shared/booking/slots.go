package booking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// SlotDef is a slot as the merchant defines it: start and end ("HH:MM",
// the store's local time, on the day) and capacity in seats.
type SlotDef struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Capacity int    `json:"capacity"`
}

// Slot is a slot as answered: its name (for POST /bookings), its
// definition, and its seats taken and free.
type Slot struct {
	Slot string `json:"slot"` // "YYYY-MM-DDTHH:MM"
	SlotDef
	Taken     int `json:"taken"`
	Available int `json:"available"`
}

// maxTries bounds the optimistic rounds against concurrent slot changes.
const maxTries = 8

// Day returns the slots of a store's day ("YYYY-MM-DD", store local time),
// by start; empty when none are defined (whatever the store).
func (s *Service) Day(ctx context.Context, storeID, day string) ([]Slot, error) {
	if err := checkStoreID(storeID); err != nil {
		return nil, err
	}
	if _, err := ParseDay(day); err != nil {
		return nil, err
	}
	defs, err := s.dayDefs(ctx, storeID, day)
	if err != nil {
		return nil, err
	}
	out := make([]Slot, 0, len(defs))
	for _, d := range defs {
		taken, err := s.taken(ctx, storeID, d.slot)
		if err != nil {
			return nil, err
		}
		out = append(out, Slot{Slot: d.slot, SlotDef: d.def, Taken: int(taken),
			Available: max(0, d.def.Capacity-int(taken))})
	}
	return out, nil
}

type storedDef struct {
	slot    string
	def     SlotDef
	version int64
}

func (s *Service) dayDefs(ctx context.Context, storeID, day string) ([]storedDef, error) {
	items, _, err := s.st.Query(ctx, slotKey(storeID, "").PK, store.Query{Prefix: day + "T", Limit: MaxSlotsPerDay * 2})
	if err != nil {
		return nil, err
	}
	out := make([]storedDef, 0, len(items))
	for _, it := range items {
		var d SlotDef
		if err := json.Unmarshal(it.Value, &d); err != nil {
			return nil, fmt.Errorf("booking: corrupt slot %s: %w", it.Key, err)
		}
		out = append(out, storedDef{slot: it.SK, def: d, version: it.Version})
	}
	return out, nil
}

func (s *Service) taken(ctx context.Context, storeID, slot string) (int64, error) {
	it, err := s.st.Get(ctx, takenKey(storeID, slot))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return it.N, err
}

// SetDay replaces the slots of a store's day (admin). A slot keeps its
// bookings when its start stays; its capacity may change, never below the
// seats taken, and a slot with bookings cannot be removed (both
// ErrCapacityBelowTaken). An empty list clears the day. Slots are checked
// (times "HH:MM" with start before end, no overlap, capacity 1 to
// MaxCapacity, at most MaxSlotsPerDay); the day is today to MaxDaysAhead
// ahead. Returns the day's slots, outlet's ErrStoreNotFound (a closed
// store may have slots defined), store errors.
func (s *Service) SetDay(ctx context.Context, storeID, day string, defs []SlotDef) ([]Slot, error) {
	if err := checkStoreID(storeID); err != nil {
		return nil, err
	}
	d, err := ParseDay(day)
	if err != nil {
		return nil, err
	}
	if err := s.checkDayRange(d); err != nil {
		return nil, err
	}
	want, err := validDefs(day, defs)
	if err != nil {
		return nil, err
	}
	sts, err := s.stores()
	if err != nil {
		return nil, err
	}
	// A closed store may have its slots defined; it takes no bookings.
	if _, err := sts.Get(ctx, storeID); err != nil {
		return nil, err
	}
	for range maxTries {
		cur, err := s.dayDefs(ctx, storeID, day)
		if err != nil {
			return nil, err
		}
		var ops []store.Op
		var takenOps []int // indexes of the seat checks: their failure is ErrCapacityBelowTaken
		have := map[string]storedDef{}
		for _, c := range cur {
			have[c.slot] = c
			if _, kept := want[c.slot]; !kept {
				ops = append(ops, store.Delete(slotKey(storeID, c.slot)).IfVersion(c.version))
				takenOps = append(takenOps, len(ops))
				ops = append(ops, store.Check(takenKey(storeID, c.slot)).AtMost(0))
			}
		}
		for slot, def := range want {
			v, _ := json.Marshal(def)
			put := store.Put(store.Item{Key: slotKey(storeID, slot), Value: v})
			c, ok := have[slot]
			switch {
			case !ok:
				ops = append(ops, put.IfAbsent())
			case c.def == def:
			default:
				ops = append(ops, put.IfVersion(c.version))
				if def.Capacity < c.def.Capacity {
					takenOps = append(takenOps, len(ops))
					ops = append(ops, store.Check(takenKey(storeID, slot)).AtMost(int64(def.Capacity)))
				}
			}
		}
		if len(ops) > 0 {
			err = s.st.Write(ctx, ops...)
		}
		i := store.FailedOp(err)
		switch {
		case err == nil:
			return s.Day(ctx, storeID, day)
		case i < 0:
			return nil, err
		case slices.Contains(takenOps, i):
			return nil, ErrCapacityBelowTaken
		}
		// Another change of the day won the race: read again.
	}
	return nil, ErrBusy
}

func (s *Service) checkDayRange(d time.Time) error {
	today := s.now().In(Location)
	first := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, Location)
	switch {
	case d.Before(first):
		return apperr.Invalidf("date is in the past")
	case d.After(first.AddDate(0, 0, MaxDaysAhead)):
		return apperr.Invalidf("date is more than %d days ahead", MaxDaysAhead)
	}
	return nil
}

// validDefs checks a day's slot definitions and returns them by slot name.
func validDefs(day string, defs []SlotDef) (map[string]SlotDef, error) {
	if len(defs) > MaxSlotsPerDay {
		return nil, apperr.Invalidf(`field "slots" holds at most %d slots`, MaxSlotsPerDay)
	}
	sorted := slices.Clone(defs)
	slices.SortFunc(sorted, func(a, b SlotDef) int { return strings.Compare(a.Start, b.Start) })
	out := make(map[string]SlotDef, len(defs))
	for i, d := range sorted {
		st, err1 := parseClock(d.Start)
		en, err2 := parseClock(d.End)
		switch {
		case err1 != nil || err2 != nil:
			return nil, apperr.Invalidf(`field "slots": start and end must be times as HH:MM (China Standard Time), e.g. "18:00"`)
		case st >= en:
			return nil, apperr.Invalidf(`field "slots": slot %s must end after it starts`, d.Start)
		case d.Capacity < 1 || d.Capacity > MaxCapacity:
			return nil, apperr.Invalidf(`field "slots": capacity must be 1 to %d`, MaxCapacity)
		case i > 0 && sorted[i-1].End > d.Start:
			return nil, apperr.Invalidf(`field "slots": slots %s and %s overlap`, sorted[i-1].Start, d.Start)
		}
		out[day+"T"+d.Start] = d
	}
	return out, nil
}

// parseClock parses "HH:MM" (00:00 to 23:59, or 24:00 as an end) into minutes.
func parseClock(s string) (int, error) {
	if s == "24:00" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil || t.Format("15:04") != s {
		return 0, errors.New("not HH:MM")
	}
	return t.Hour()*60 + t.Minute(), nil
}
