package wallet

import (
	"context"
	"slices"
	"strings"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
)

// The ops of an order paid with the balance (package order, "use_balance").
// They do what Spend and Return do, but return the store ops instead of
// writing them, so that the order side puts them in its own Write (the
// order's creation, its cancellation or expiry, its refund's success): the
// balance and the order then never disagree after a crash. Each op set is
// conditioned on what it read (the counters' versions for a debit, the
// spend record's version for a return): a caller whose Write fails on one
// of them reads again and asks again, as it does for a coupon's ops.

// SpendOps returns the ops that take up to max fen from openid's wallet for
// the order orderID, principal first: what the balance covers, all of max
// or less (the rest is paid otherwise). spent is 0 (and ops nil) when the
// balance is zero. The ops are the counters' Adds (AtLeast(0), conditioned
// on the versions read), the ledger entry and the spend record (IfAbsent:
// an order takes from the wallet once). Returns invalid_request and store
// errors.
func (s *Service) SpendOps(ctx context.Context, openid, orderID string, max int64) (ops []store.Op, spent int64, err error) {
	if openid == "" || !ident.Valid(orderID, 1, 64, "_-|*") {
		return nil, 0, apperr.Invalidf("an owner and an order id are required")
	}
	if max < 1 {
		return nil, 0, apperr.Invalidf(`"amount" must be at least 1 fen`)
	}
	c, err := s.read(ctx, openid)
	if err != nil {
		return nil, 0, err
	}
	amount := min(c.p+c.b, max)
	if amount <= 0 {
		return nil, 0, nil
	}
	p := min(c.p, amount)
	sp := Spent{Owner: openid, OrderID: orderID, Amount: amount, Principal: p, Bonus: amount - p}
	ops, _ = s.moveOps(openid, c, plan{dp: -p, db: -(amount - p), entry: Entry{Kind: KindSpend, Ref: orderID, At: s.now()},
		ops: []store.Op{spentOp(sp).IfAbsent()}})
	return ops, amount, nil
}

// ReturnOps returns the ops that give back amount fen of what the order
// orderID took, bonus first, once per ref: nil when ref was already given
// back. The spend record's Put is conditioned on the version read. Returns
// ErrSpendNotFound, ErrReturnTooLarge, invalid_request, store errors.
func (s *Service) ReturnOps(ctx context.Context, openid, orderID, ref string, amount int64) ([]store.Op, error) {
	if openid == "" || !ident.Valid(orderID, 1, 64, "_-|*") || ref == "" || len(ref) > 64 {
		return nil, apperr.Invalidf("an owner, an order id and a ref (1 to 64 bytes) are required")
	}
	if amount < 1 {
		return nil, apperr.Invalidf(`"amount" must be at least 1 fen`)
	}
	sp, v, err := s.loadSpent(ctx, orderID)
	switch {
	case err != nil:
		return nil, err
	case sp.Owner != openid:
		return nil, ErrSpendNotFound
	case slices.Contains(sp.Refs, ref):
		return nil, nil
	case amount > sp.Amount-sp.Returned:
		return nil, ErrReturnTooLarge.WithMessage("the order has %d fen left to give back", sp.Amount-sp.Returned)
	case len(sp.Refs) >= MaxReturns:
		return nil, ErrReturnTooLarge.WithMessage("the order was given back %d times already", len(sp.Refs))
	}
	b := min(amount, sp.Bonus-sp.RetB)
	p := amount - b
	sp.Returned += amount
	sp.RetP += p
	sp.RetB += b
	sp.Refs = append(sp.Refs, ref)
	// A credit is not conditioned on the counters (an Add cannot make them
	// negative); the spend record's version makes it once per ref.
	ops, _ := s.moveOps(openid, counters{}, plan{dp: p, db: b, entry: Entry{Kind: KindReturn, Ref: orderID, Reason: ref, At: s.now()},
		ops: []store.Op{spentOp(sp).IfVersion(v)}})
	return ops, nil
}

// IsKey reports whether k is one of the wallet's keys (the order side tells
// a lost race on the wallet's ops from others by it).
func IsKey(k store.Key) bool {
	return strings.HasPrefix(k.PK, "wallet#")
}

// Ledger entry kinds of gift cards (package giftcard).
const (
	KindGiftCard        = "giftcard"         // a gift card claimed: its value, as bonus
	KindGiftCardRevoked = "giftcard_revoked" // a gift card taken back by its buyer: its value, as principal
)

// CreditOps returns the ops that credit openid's wallet with principal and
// bonus fen (both at least 0, one above 0): the counters' Adds and the
// ledger entry of kind, with ref (what the credit is for). They are not
// conditioned on the counters (a credit cannot make them negative): the
// caller puts them in its own Write with the condition that makes the
// credit happen once (a gift card's claim: the card's version). Returns
// invalid_request.
func (s *Service) CreditOps(openid string, principal, bonus int64, kind, ref string) ([]store.Op, error) {
	if openid == "" || kind == "" || ref == "" || len(ref) > 64 {
		return nil, apperr.Invalidf("an owner, a kind and a ref (1 to 64 bytes) are required")
	}
	if principal < 0 || bonus < 0 || principal+bonus < 1 {
		return nil, apperr.Invalidf("a credit must be at least 1 fen")
	}
	ops, _ := s.moveOps(openid, counters{}, plan{dp: principal, db: bonus, entry: Entry{Kind: kind, Ref: ref, At: s.now()}})
	return ops, nil
}
