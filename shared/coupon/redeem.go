package coupon

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// Redeemer is who redeems a coupon at a store: the admin token, or a user
// who must hold the staff role.
type Redeemer struct {
	OpenID string
	Admin  bool
}

// Redeem marks the coupon with the given code used, exactly once, for a
// purchase at a store counter. code may be typed loosely (see NormalizeCode).
//
// Returns ErrNotStaff, ErrUnknownCode, ErrAlreadyUsed, ErrExpired,
// ErrNotYetValid or ErrCouponLocked.
func (s *Service) Redeem(ctx context.Context, by Redeemer, code string) (Coupon, error) {
	if !by.Admin {
		ok, err := s.IsStaff(ctx, by.OpenID)
		if err != nil {
			return Coupon{}, err
		}
		if !ok {
			return Coupon{}, ErrNotStaff
		}
	}
	if code == "" {
		return Coupon{}, apperr.Invalidf("code is required")
	}
	canon, ok := NormalizeCode(code)
	if !ok {
		return Coupon{}, ErrUnknownCode
	}
	var ref codeRef
	if _, err := s.get(ctx, codeKey(canon), &ref); errors.Is(err, store.ErrNotFound) {
		return Coupon{}, ErrUnknownCode
	} else if err != nil {
		return Coupon{}, err
	}
	// Two counters scanning the same code at once: one write wins on the
	// version; the other re-reads and sees it used.
	for range 5 {
		c, err := s.load(ctx, ref.OpenID, ref.CouponID)
		if errors.Is(err, ErrCouponNotFound) {
			return Coupon{}, ErrUnknownCode
		}
		if err != nil {
			return Coupon{}, err
		}
		now := s.now()
		if err := redeemable(c.At(now), now); err != nil {
			return Coupon{}, err
		}
		c.Status, c.UsedAt = Used, ptr(now.UTC())
		err = s.st.Write(ctx, c.putOp(), stats.Op(stats.CouponsRedeemed, now, c.ID, 1)) // + the day's counter (package stats)
		if errors.Is(err, store.ErrConditionFailed) {
			continue
		}
		if err != nil {
			return Coupon{}, err
		}
		return c, nil
	}
	return Coupon{}, ErrBusy
}

func redeemable(c Coupon, now time.Time) error {
	switch c.Status {
	case Used:
		return ErrAlreadyUsed
	case Expired:
		return ErrExpired
	case Locked:
		return ErrCouponLocked
	}
	if now.Before(c.ValidFrom) {
		return ErrNotYetValid
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// ValidOpenID reports whether s can be an openid. WeChat's are 28
// characters of base64url; we allow some slack but nothing that could bend a key.
func ValidOpenID(s string) bool { return ident.Valid(s, 1, 128, "_-") }

// Staff is a staff role record.
type Staff struct {
	OpenID    string    `json:"openid"`
	GrantedAt time.Time `json:"granted_at"`
}

// GrantStaff gives openid the staff role (again: the grant time is kept).
func (s *Service) GrantStaff(ctx context.Context, openid string) (Staff, error) {
	if !ValidOpenID(openid) {
		return Staff{}, apperr.Invalidf("openid must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -")
	}
	var st Staff
	if _, err := s.get(ctx, staffKey(openid), &st); err == nil {
		return st, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Staff{}, err
	}
	st = Staff{OpenID: openid, GrantedAt: s.now().UTC().Truncate(time.Second)}
	b, _ := json.Marshal(st)
	err := s.st.Write(ctx, store.Put(store.Item{Key: staffKey(openid), Value: b}).IfAbsent())
	if errors.Is(err, store.ErrConditionFailed) { // a concurrent grant won
		_, err = s.get(ctx, staffKey(openid), &st)
	}
	return st, err
}

// RevokeStaff takes the staff role from openid; revoking a role nobody holds
// is not an error.
func (s *Service) RevokeStaff(ctx context.Context, openid string) error {
	if !ValidOpenID(openid) {
		return apperr.Invalidf("openid must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -")
	}
	return s.st.Write(ctx, store.Delete(staffKey(openid)))
}

// IsStaff reports whether openid holds the staff role.
func (s *Service) IsStaff(ctx context.Context, openid string) (bool, error) {
	if !ValidOpenID(openid) {
		return false, nil
	}
	_, err := s.st.Get(ctx, staffKey(openid))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
