package outlet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/store"
)

// Edit is an admin's create or change of a store: the fields present are
// set, the others kept (on create: name, address, lat and lng are
// required; status defaults to open).
type Edit struct {
	Name    *string  `json:"name"`
	Address *string  `json:"address"`
	Lat     *float64 `json:"lat"`
	Lng     *float64 `json:"lng"`
	Phone   *string  `json:"phone"`
	Hours   *Hours   `json:"hours"`
	Status  *string  `json:"status"`

	// IfVersion is the Version the editor loaded: the change is refused
	// with ErrVersionConflict when another edit landed since. Nil: last
	// write wins.
	IfVersion *int64 `json:"if_version"`
}

func (e Edit) apply(st *Store) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&st.Name, e.Name)
	set(&st.Address, e.Address)
	set(&st.Phone, e.Phone)
	set(&st.Status, e.Status)
	if e.Lat != nil {
		st.Lat = *e.Lat
	}
	if e.Lng != nil {
		st.Lng = *e.Lng
	}
	if e.Hours != nil {
		st.Hours = *e.Hours
	}
}

// IdemAction is the idempotency action of an admin's store create.
const IdemAction = "outlet.create"

// Create adds a store: its record and its index items, in one Write with
// the idempotency record of idemKey (the admin's Idempotency-Key; "" for
// none). A retry with the same key returns the first store and replayed.
//
// Returns invalid_request errors, idem.ErrBadKey and idem.ErrKeyReused.
func (s *Service) Create(ctx context.Context, e Edit, idemKey string) (st Store, replayed bool, err error) {
	if e.Lat == nil || e.Lng == nil {
		return Store{}, false, apperr.Invalidf("lat and lng are required")
	}
	if e.IfVersion != nil {
		return Store{}, false, apperr.Invalidf("if_version is for edits (PUT /stores/{id})")
	}
	st = Store{Status: Open}
	e.apply(&st)
	if err := st.Validate(); err != nil {
		return Store{}, false, err
	}
	ik, err := idem.New(IdemAction, "admin", idemKey, e)
	if err != nil {
		return Store{}, false, err
	}
	if st, ok, err := replay(ctx, s.st, ik); ok || err != nil {
		return st, ok, err
	}
	now := s.now().UTC().Truncate(time.Second)
	st.ID, st.CreatedAt, st.UpdatedAt, st.Version = newID(), now, now, 1
	b, err := json.Marshal(st)
	if err != nil {
		return Store{}, false, err
	}
	ops := append([]store.Op{store.Put(store.Item{Key: storeKey(st.ID), Value: b}).IfAbsent()}, indexOps(nil, &st, b)...)
	if !ik.IsZero() {
		ops = append(ops, ik.Op(b, now))
	}
	err = s.st.Write(ctx, ops...)
	if i := store.FailedOp(err); i >= 0 && idem.IsRecord(ops[i].Item.Key) {
		// A concurrent duplicate with the same key won: answer as it did.
		if st, ok, rerr := replay(ctx, s.st, ik); ok || rerr != nil {
			return st, ok, rerr
		}
	}
	if err != nil {
		return Store{}, false, err
	}
	return st, false, nil
}

func replay(ctx context.Context, st store.Store, ik idem.Key) (Store, bool, error) {
	b, ok, err := ik.Lookup(ctx, st)
	if !ok || err != nil {
		return Store{}, false, err
	}
	var out Store
	if err := json.Unmarshal(b, &out); err != nil {
		return Store{}, false, fmt.Errorf("outlet: corrupt idempotency record: %w", err)
	}
	return out, true, nil
}

// Update changes the store with the id: the fields e sets, in one Write
// with its index items (moved to other cells when the location changed).
//
// Returns ErrStoreNotFound, ErrVersionConflict and invalid_request errors.
func (s *Service) Update(ctx context.Context, id string, e Edit) (Store, error) {
	if e.IfVersion != nil && *e.IfVersion < 1 {
		return Store{}, apperr.Invalidf("if_version must be a version (1 or more)")
	}
	for range 5 {
		cur, ver, err := s.load(ctx, id)
		if err != nil {
			return Store{}, err
		}
		if e.IfVersion != nil && *e.IfVersion != cur.Version {
			return Store{}, ErrVersionConflict.WithMessage("store %q is at version %d, not %d: it was edited meanwhile; reload it and edit again", id, cur.Version, *e.IfVersion)
		}
		next := cur
		next.Hours = cloneHours(cur.Hours)
		e.apply(&next)
		if err := next.Validate(); err != nil {
			return Store{}, err
		}
		next.Version++
		next.UpdatedAt = s.now().UTC().Truncate(time.Second)
		b, err := json.Marshal(next)
		if err != nil {
			return Store{}, err
		}
		ops := append([]store.Op{store.Put(store.Item{Key: storeKey(id), Value: b}).IfVersion(ver)}, indexOps(&cur, &next, b)...)
		err = s.st.Write(ctx, ops...)
		if errors.Is(err, store.ErrConditionFailed) {
			continue // another edit landed between our read and write: apply ours to it
		}
		if err != nil {
			return Store{}, err
		}
		return next, nil
	}
	return Store{}, store.ErrConditionFailed
}

func cloneHours(h Hours) Hours {
	if h == nil {
		return nil
	}
	out := make(Hours, len(h))
	for d, r := range h {
		out[d] = append([]Range(nil), r...)
	}
	return out
}

// Index keys: one per level, under the store's cell.

const geoPrefix = "outlet#geo#"

func geoKey(cell, id string) store.Key { return store.Key{PK: geoPrefix + cell, SK: id} }

// indexOps returns the ops that bring the index from old's cells (nil: a
// new store) to next's, each index item holding b (next's JSON): a put per
// level, and a delete of each old cell that is no longer next's.
func indexOps(old, next *Store, b []byte) []store.Op {
	var ops []store.Op
	for _, p := range Levels {
		cell := Geohash(next.Lat, next.Lng, p)
		ops = append(ops, store.Put(store.Item{Key: geoKey(cell, next.ID), Value: b}))
		if old != nil {
			if was := Geohash(old.Lat, old.Lng, p); was != cell {
				ops = append(ops, store.Delete(geoKey(was, old.ID)))
			}
		}
	}
	return ops
}
