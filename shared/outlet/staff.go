package outlet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
)

// Staff is a staff role record.
type Staff struct {
	OpenID    string    `json:"openid"`
	GrantedAt time.Time `json:"granted_at"`
	StoreID   string    `json:"store_id,omitempty"` // the store they work at; "": staff of no one store
}

// The roles form one collection so that the admin can list them; a grant
// with a store is also indexed under the store, so that the staff of one
// store are listed without reading the others. Both keys were package
// coupon's "staff#" prefix and stay so: grants made before stores read as
// staff of no one store.
const staffPK = "staff#all"

func staffKey(openid string) store.Key { return store.Key{PK: staffPK, SK: openid} }

func storeStaffKey(storeID, openid string) store.Key {
	return store.Key{PK: "staff#store#" + storeID, SK: openid}
}

// ValidOpenID reports whether s can be an openid. WeChat's are 28
// characters of base64url; we allow some slack but nothing that could bend a key.
func ValidOpenID(s string) bool { return ident.Valid(s, 1, 128, "_-") }

var errBadOpenID = apperr.Invalidf("openid must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -")

// GrantStaff gives openid the staff role at storeID ("" for no one store).
// Granting again keeps the grant time and moves the member to storeID.
// Returns ErrStoreNotFound when storeID names no store.
func (s *Service) GrantStaff(ctx context.Context, openid, storeID string) (Staff, error) {
	if !ValidOpenID(openid) {
		return Staff{}, errBadOpenID
	}
	for range 5 {
		cur, ver, err := s.staff(ctx, openid)
		switch {
		case errors.Is(err, ErrNotStaff):
			cur = Staff{OpenID: openid, GrantedAt: s.now().UTC().Truncate(time.Second)}
		case err != nil:
			return Staff{}, err
		case cur.StoreID == storeID:
			return cur, nil
		}
		old := cur.StoreID
		cur.StoreID = storeID
		b, _ := json.Marshal(cur)
		put := store.Put(store.Item{Key: staffKey(openid), Value: b})
		if ver == 0 {
			put = put.IfAbsent()
		} else {
			put = put.IfVersion(ver)
		}
		ops := []store.Op{put}
		if storeID != "" {
			// The store must exist when the grant lands.
			ops = append(ops, store.Check(storeKey(storeID)).IfExists(),
				store.Put(store.Item{Key: storeStaffKey(storeID, openid), Value: b}))
		}
		if old != "" {
			ops = append(ops, store.Delete(storeStaffKey(old, openid)))
		}
		err = s.st.Write(ctx, ops...)
		if store.FailedOp(err) == 1 {
			return Staff{}, ErrStoreNotFound.WithMessage("no store has id %q", storeID)
		}
		if errors.Is(err, store.ErrConditionFailed) {
			continue // a concurrent grant or revoke: read again
		}
		if err != nil {
			return Staff{}, err
		}
		return cur, nil
	}
	return Staff{}, store.ErrConditionFailed
}

// RevokeStaff takes the staff role from openid; revoking a role nobody holds
// is not an error.
func (s *Service) RevokeStaff(ctx context.Context, openid string) error {
	if !ValidOpenID(openid) {
		return errBadOpenID
	}
	for range 5 {
		cur, ver, err := s.staff(ctx, openid)
		if errors.Is(err, ErrNotStaff) {
			return nil
		}
		if err != nil {
			return err
		}
		ops := []store.Op{store.Delete(staffKey(openid)).IfVersion(ver)}
		if cur.StoreID != "" {
			ops = append(ops, store.Delete(storeStaffKey(cur.StoreID, openid)))
		}
		err = s.st.Write(ctx, ops...)
		if errors.Is(err, store.ErrConditionFailed) {
			continue
		}
		return err
	}
	return store.ErrConditionFailed
}

// IsStaff reports whether openid holds the staff role (at any store or
// none).
func (s *Service) IsStaff(ctx context.Context, openid string) (bool, error) {
	_, err := s.StaffStore(ctx, openid)
	if errors.Is(err, ErrNotStaff) {
		return false, nil
	}
	return err == nil, err
}

// StaffStore returns the id of the store openid works at ("" for staff of
// no one store). Returns ErrNotStaff when openid holds no staff role.
func (s *Service) StaffStore(ctx context.Context, openid string) (string, error) {
	st, _, err := s.staff(ctx, openid)
	return st.StoreID, err
}

// CheckStaffOf returns nil when openid is staff of storeID. Returns
// ErrNotStaff, or ErrNotStoreStaff for staff of another store or of none.
func (s *Service) CheckStaffOf(ctx context.Context, openid, storeID string) error {
	at, err := s.StaffStore(ctx, openid)
	if err != nil {
		return err
	}
	if at == "" || at != storeID {
		return ErrNotStoreStaff
	}
	return nil
}

func (s *Service) staff(ctx context.Context, openid string) (Staff, int64, error) {
	if !ValidOpenID(openid) {
		return Staff{}, 0, ErrNotStaff
	}
	it, err := s.st.Get(ctx, staffKey(openid))
	if errors.Is(err, store.ErrNotFound) {
		return Staff{}, 0, ErrNotStaff
	}
	if err != nil {
		return Staff{}, 0, err
	}
	var st Staff
	if err := json.Unmarshal(it.Value, &st); err != nil {
		return Staff{}, 0, fmt.Errorf("outlet: corrupt item %s: %w", it.Key, err)
	}
	if st.OpenID == "" { // a record of coupon's time, or of a bare grant
		st.OpenID = openid
	}
	return st, it.Version, nil
}

// ListStaff returns the staff roles in OpenID order, after the cursor, and
// the cursor of the next page ("" when there is none): all of them, or
// those of storeID (ErrStoreNotFound when it names no store). limit is 1
// to 100.
//
// The roles are one collection (one DynamoDB partition), and those of a
// store another: grants are rare, and the reads of redemptions (one Get
// each) stay far below a partition's limit.
func (s *Service) ListStaff(ctx context.Context, storeID, after string, limit int) ([]Staff, string, error) {
	if limit < 1 || limit > 100 {
		return nil, "", apperr.Invalidf("limit must be 1 to 100")
	}
	if after != "" && !ValidOpenID(after) {
		return nil, "", apperr.Invalidf("after is not a cursor of this list")
	}
	pk := staffPK
	if storeID != "" {
		if !ValidID(storeID) {
			return nil, "", ErrStoreNotFound
		}
		if _, err := s.Get(ctx, storeID); err != nil {
			return nil, "", err
		}
		pk = storeStaffKey(storeID, "-").PK
	}
	items, next, err := s.st.Query(ctx, pk, store.Query{After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Staff, 0, len(items))
	for _, it := range items {
		var st Staff
		if err := json.Unmarshal(it.Value, &st); err != nil {
			return nil, "", fmt.Errorf("outlet: corrupt item %s: %w", it.Key, err)
		}
		out = append(out, st)
	}
	return out, next, nil
}
