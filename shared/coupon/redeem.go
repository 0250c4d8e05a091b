package coupon

import (
	"context"
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
	// StoreID is the store the admin redeems for ("" for none); staff
	// redeem for their own store, whatever this says.
	StoreID string
}

// Staff tells who holds the staff role, and where (package outlet, which
// owns the role: outlet.Service). The Spec's Build wires it.
type Staff interface {
	// StaffStore returns the store openid works at ("" for staff of no
	// one store), or an error with code not_staff when openid is no staff.
	StaffStore(ctx context.Context, openid string) (storeID string, err error)
	// CheckExists returns nil when a store has the id, or an error with
	// code store_not_found.
	CheckExists(ctx context.Context, storeID string) error
}

// Redeem marks the coupon with the given code used, exactly once, for a
// purchase at a store counter. code may be typed loosely (see NormalizeCode).
//
// The coupon records the store it was redeemed at (RedeemedStoreID): the
// staff member's, or the one the admin names.
//
// Returns ErrNotStaff, the Staff's store_not_found error (an admin's
// StoreID that names no store), ErrUnknownCode, ErrAlreadyUsed, ErrExpired,
// ErrNotYetValid or ErrCouponLocked.
func (s *Service) Redeem(ctx context.Context, by Redeemer, code string) (Coupon, error) {
	storeID, err := s.redeemStore(ctx, by)
	if err != nil {
		return Coupon{}, err
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
		c.Status, c.UsedAt, c.RedeemedStoreID = Used, ptr(now.UTC()), storeID
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

// redeemStore checks that by may redeem and returns the store the
// redemption is recorded at.
func (s *Service) redeemStore(ctx context.Context, by Redeemer) (string, error) {
	if by.Admin {
		if by.StoreID == "" {
			return "", nil
		}
		if s.staff == nil {
			return "", apperr.Invalidf("store_id: this function knows no stores")
		}
		return by.StoreID, s.staff.CheckExists(ctx, by.StoreID)
	}
	if s.staff == nil || !ValidOpenID(by.OpenID) {
		return "", ErrNotStaff
	}
	storeID, err := s.staff.StaffStore(ctx, by.OpenID)
	if apperr.HasCode(err, ErrNotStaff.Code) {
		return "", ErrNotStaff
	}
	return storeID, err
}

// ValidOpenID reports whether s can be an openid. WeChat's are 28
// characters of base64url; we allow some slack but nothing that could bend a key.
func ValidOpenID(s string) bool { return ident.Valid(s, 1, 128, "_-") }
