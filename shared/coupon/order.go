package coupon

import (
	"context"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// The op builders below let the order package put a coupon's transition in
// the same store.Write as its order, so that an order and its coupon never
// disagree. Each returns ops conditional on the coupon's version as read: if
// that Write fails on one of them (store.FailedOp points into these ops), the
// coupon changed concurrently; build again and retry, or give up.
//
// Each is idempotent: when the coupon is already in the target state for the
// same order, it returns a Check op that only asserts it stays so.

// LockOps returns the ops that lock openid's coupon couponID to order
// orderID, and the discount it gives on subtotal (fen): amount_off capped at
// subtotal, or percent_off of subtotal (rounded down) capped at max_off.
//
// Returns ErrCouponNotFound, ErrExpired, ErrNotYetValid, ErrMinSpendNotMet,
// or ErrCouponUnusable (used, or locked to another order).
func (s *Service) LockOps(ctx context.Context, openid, couponID, orderID string, subtotal int64) (ops []store.Op, discount int64, err error) {
	if orderID == "" {
		return nil, 0, apperr.Invalidf("order id is required")
	}
	c, err := s.load(ctx, openid, couponID)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	switch v := c.At(now); {
	case v.Status == Locked && c.OrderID == orderID:
		return []store.Op{c.checkOp()}, c.Discount.Off(subtotal), nil
	case v.Status == Expired:
		return nil, 0, ErrExpired
	case v.Status != Usable:
		return nil, 0, ErrCouponUnusable
	case now.Before(c.ValidFrom):
		return nil, 0, ErrNotYetValid
	case subtotal < c.MinSpend:
		return nil, 0, ErrMinSpendNotMet.WithMessage("the coupon needs a subtotal of at least %d fen", c.MinSpend)
	}
	c.Status, c.OrderID, c.LockedAt = Locked, orderID, ptr(now.UTC())
	return []store.Op{c.putOp()}, c.Discount.Off(subtotal), nil
}

// ConsumeOps returns the ops that mark the coupon locked to orderID used,
// when the order is paid. It does not check validity: the order was placed
// while the coupon was valid and the user paid the discounted total.
//
// Returns ErrCouponNotFound, or ErrCouponUnusable when the coupon is not
// locked to (or used by) this order.
func (s *Service) ConsumeOps(ctx context.Context, openid, couponID, orderID string) ([]store.Op, error) {
	c, err := s.load(ctx, openid, couponID)
	if err != nil {
		return nil, err
	}
	switch {
	case orderID == "" || c.OrderID != orderID:
		return nil, ErrCouponUnusable.WithMessage("the coupon is not held by this order")
	case c.Status == Used:
		return []store.Op{c.checkOp()}, nil
	case c.Status != Locked:
		return nil, ErrCouponUnusable.WithMessage("the coupon is not held by this order")
	}
	c.Status, c.UsedAt = Used, ptr(s.now().UTC())
	return []store.Op{c.putOp(), stats.Op(stats.CouponsRedeemed, *c.UsedAt, c.ID, 1)}, nil // + the day's counter (package stats)
}

// ReleaseOps returns the ops that give the coupon back to its owner when
// order orderID is cancelled, closed unpaid, or refunded: locked or used by
// this order → usable (it reads as expired if its validity has passed). When
// the coupon is not held by this order (already released, say) it returns
// no ops and no error.
//
// Returns ErrCouponNotFound.
func (s *Service) ReleaseOps(ctx context.Context, openid, couponID, orderID string) ([]store.Op, error) {
	c, err := s.load(ctx, openid, couponID)
	if err != nil {
		return nil, err
	}
	if orderID == "" || c.OrderID != orderID || (c.Status != Locked && c.Status != Used) {
		return nil, nil
	}
	c.Status, c.OrderID, c.LockedAt, c.UsedAt = Usable, "", nil, nil
	return []store.Op{c.putOp()}, nil
}
