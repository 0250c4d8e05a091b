package coupon

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// Status of a coupon. Usable, Locked and Used are stored; Expired is
// computed on read from valid_until.
type Status string

const (
	Usable  Status = "usable"
	Locked  Status = "locked" // held by an unpaid order
	Used    Status = "used"
	Expired Status = "expired"
)

// Coupon is one claimed coupon.
type Coupon struct {
	ID         string     `json:"id"`
	CampaignID string     `json:"campaign_id"`
	Title      string     `json:"title"`
	Discount   Discount   `json:"discount"`
	MinSpend   int64      `json:"min_spend"`
	Status     Status     `json:"status"`
	Code       string     `json:"code"` // redemption code, grouped: XXXX-XXXX-XXXX-XXXX
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil time.Time  `json:"valid_until"`
	ClaimedAt  time.Time  `json:"claimed_at"`
	OrderID    string     `json:"order_id,omitempty"` // the order holding or having used it
	LockedAt   *time.Time `json:"locked_at,omitempty"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
	// RedeemedStoreID is the store whose counter redeemed the coupon: the
	// staff member's store, or the one the admin named; absent for a
	// coupon used by an order or redeemed by staff of no one store.
	RedeemedStoreID string `json:"redeemed_store_id,omitempty"`

	OpenID  string `json:"-"` // the owner, from the key
	version int64
}

// At returns c as it reads at now: a usable coupon past valid_until is expired.
func (c Coupon) At(now time.Time) Coupon {
	if c.Status == Usable && now.After(c.ValidUntil) {
		c.Status = Expired
	}
	return c
}

// ParseStatus checks a status filter ("" means all).
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case "", Usable, Locked, Used, Expired:
		return st, nil
	}
	return "", apperr.Invalidf("status must be one of usable, locked, used, expired")
}

// MaxList is the most coupons one listing returns.
const MaxList = 1000

// Coupons returns openid's coupons, newest first, with status computed at
// now, only those with the given status unless it is "".
func (s *Service) Coupons(ctx context.Context, openid string, status Status) ([]Coupon, error) {
	out := []Coupon{}
	now := s.now()
	after := ""
	for len(out) < MaxList {
		items, next, err := s.st.Query(ctx, userPK(openid), store.Query{Prefix: couponPrefix, After: after, Desc: true, Limit: MaxList})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			c, err := decodeCoupon(openid, it)
			if err != nil {
				return nil, err
			}
			if c = c.At(now); status == "" || c.Status == status {
				out = append(out, c)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	return out[:min(len(out), MaxList)], nil
}

// Coupon returns openid's coupon id as it reads now, or ErrCouponNotFound.
func (s *Service) Coupon(ctx context.Context, openid, id string) (Coupon, error) {
	c, err := s.load(ctx, openid, id)
	if err != nil {
		return Coupon{}, err
	}
	return c.At(s.now()), nil
}

// load returns the stored coupon (stored status, with its version).
func (s *Service) load(ctx context.Context, openid, id string) (Coupon, error) {
	if openid == "" || id == "" || len(id) > 64 {
		return Coupon{}, ErrCouponNotFound
	}
	it, err := s.st.Get(ctx, couponKey(openid, id))
	if errors.Is(err, store.ErrNotFound) {
		return Coupon{}, ErrCouponNotFound
	}
	if err != nil {
		return Coupon{}, err
	}
	return decodeCoupon(openid, it)
}

func decodeCoupon(openid string, it store.Item) (Coupon, error) {
	var c Coupon
	if err := json.Unmarshal(it.Value, &c); err != nil {
		return Coupon{}, errors.Join(errors.New("coupon: corrupt item "+it.Key.String()), err)
	}
	c.OpenID, c.version = openid, it.Version
	return c, nil
}

// putOp returns the op that replaces the stored coupon c, provided it has not
// changed since it was read.
func (c Coupon) putOp() store.Op {
	b, _ := json.Marshal(c)
	return store.Put(store.Item{Key: couponKey(c.OpenID, c.ID), Value: b}).IfVersion(c.version)
}

// checkOp returns an op that only asserts that c has not changed.
func (c Coupon) checkOp() store.Op {
	return store.Check(couponKey(c.OpenID, c.ID)).IfVersion(c.version)
}
