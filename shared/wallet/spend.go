package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
)

// IdemAdjust names admin adjustments in Idempotency-Key records.
const IdemAdjust = "wallet-adjust"

// Spent is what an order took from a wallet and what it gave back.
type Spent struct {
	Owner     string   `json:"owner"`
	OrderID   string   `json:"order_id"`
	Amount    int64    `json:"amount"`
	Principal int64    `json:"principal"` // of Amount
	Bonus     int64    `json:"bonus"`     // of Amount
	Returned  int64    `json:"returned"`
	RetP      int64    `json:"returned_principal"`
	RetB      int64    `json:"returned_bonus"`
	Refs      []string `json:"refs,omitempty"` // the returns made, by their ref
	Replayed  bool     `json:"-"`              // Spend or Return had already been done
}

func (s *Service) loadSpent(ctx context.Context, orderID string) (Spent, int64, error) {
	it, err := s.st.Get(ctx, spendKey(orderID))
	if errors.Is(err, store.ErrNotFound) {
		return Spent{}, 0, ErrSpendNotFound
	}
	if err != nil {
		return Spent{}, 0, err
	}
	var sp Spent
	if err := json.Unmarshal(it.Value, &sp); err != nil {
		return Spent{}, 0, fmt.Errorf("wallet: corrupt spend %s: %w", it.Key, err)
	}
	return sp, it.Version, nil
}

func spentOp(sp Spent) store.Op {
	b, _ := json.Marshal(sp)
	return store.Put(store.Item{Key: spendKey(sp.OrderID), Value: b})
}

// Spend takes amount fen from openid's wallet for the order orderID,
// principal first, once per order: a second call with the same order and
// amount takes nothing and returns the first (Replayed). The order side
// calls it (an order paid with the balance). Returns ErrInsufficient,
// ErrSpendMismatch (the order took another amount, or is another user's),
// ErrBusy, invalid_request, store errors.
func (s *Service) Spend(ctx context.Context, openid, orderID string, amount int64) (Spent, error) {
	if openid == "" || !ident.Valid(orderID, 1, 64, "_-|*") {
		return Spent{}, apperr.Invalidf("an owner and an order id are required")
	}
	if amount < 1 {
		return Spent{}, apperr.Invalidf(`"amount" must be at least 1 fen`)
	}
	var out Spent
	_, err := s.move(ctx, openid, func(c counters) (plan, error) {
		sp, _, err := s.loadSpent(ctx, orderID)
		switch {
		case err == nil && sp.Owner == openid && sp.Amount == amount:
			out, out.Replayed = sp, true
			return plan{}, errNoChange
		case err == nil:
			return plan{}, ErrSpendMismatch
		case !errors.Is(err, ErrSpendNotFound):
			return plan{}, err
		}
		if c.p+c.b < amount {
			return plan{}, ErrInsufficient.WithMessage("the balance is %d fen; %d needed", c.p+c.b, amount)
		}
		p := min(c.p, amount)
		out = Spent{Owner: openid, OrderID: orderID, Amount: amount, Principal: p, Bonus: amount - p}
		return plan{dp: -p, db: -(amount - p), entry: Entry{Kind: KindSpend, Ref: orderID, At: s.now()},
			ops: []store.Op{spentOp(out).IfAbsent()}}, nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return out, err
}

// Return gives back amount fen of what the order orderID took, bonus first
// (the reverse of Spend), once per ref (the refund's or the cancellation's
// own id: a second call with the same ref gives nothing). Returns
// ErrSpendNotFound (also for another user's order), ErrReturnTooLarge,
// ErrBusy, invalid_request, store errors.
func (s *Service) Return(ctx context.Context, openid, orderID, ref string, amount int64) (Spent, error) {
	if openid == "" || !ident.Valid(orderID, 1, 64, "_-|*") || ref == "" || len(ref) > 64 {
		return Spent{}, apperr.Invalidf("an owner, an order id and a ref (1 to 64 bytes) are required")
	}
	if amount < 1 {
		return Spent{}, apperr.Invalidf(`"amount" must be at least 1 fen`)
	}
	var out Spent
	_, err := s.move(ctx, openid, func(c counters) (plan, error) {
		sp, v, err := s.loadSpent(ctx, orderID)
		switch {
		case err != nil:
			return plan{}, err
		case sp.Owner != openid:
			return plan{}, ErrSpendNotFound
		case slices.Contains(sp.Refs, ref):
			out, out.Replayed = sp, true
			return plan{}, errNoChange
		case amount > sp.Amount-sp.Returned:
			return plan{}, ErrReturnTooLarge.WithMessage("the order has %d fen left to give back", sp.Amount-sp.Returned)
		case len(sp.Refs) >= MaxReturns:
			return plan{}, ErrReturnTooLarge.WithMessage("the order was given back %d times already", len(sp.Refs))
		}
		b := min(amount, sp.Bonus-sp.RetB)
		p := amount - b
		sp.Returned += amount
		sp.RetP += p
		sp.RetB += b
		sp.Refs = append(sp.Refs, ref)
		out = sp
		return plan{dp: p, db: b, entry: Entry{Kind: KindReturn, Ref: orderID, Reason: ref, At: s.now()},
			ops: []store.Op{spentOp(sp).IfVersion(v)}}, nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return out, err
}

// Adjusted is the outcome of Adjust.
type Adjusted struct {
	Entry    Entry `json:"entry"`
	Replayed bool  `json:"-"`
}

// Adjust changes openid's balance by amount (an admin's correction or
// gift) with a reason that the ledger keeps. A positive amount is bonus; a
// negative one takes bonus first, then principal, and never more than
// there is. With an idemKey seen before (from the admin) it changes nothing
// and returns the first entry. Returns invalid_request, ErrInsufficient,
// idem.ErrKeyReused, ErrBusy, store errors.
func (s *Service) Adjust(ctx context.Context, openid string, amount int64, reason, idemKey string) (Adjusted, error) {
	switch {
	case openid == "" || len(openid) > 128:
		return Adjusted{}, apperr.Invalidf("an openid is required")
	case amount == 0 || amount > MaxAdjust || amount < -MaxAdjust:
		return Adjusted{}, apperr.Invalidf(`field "amount" must be non-zero, within ±%d fen`, MaxAdjust)
	case reason == "" || len(reason) > MaxReason || !utf8.ValidString(reason):
		return Adjusted{}, apperr.Invalidf(`field "reason" must be 1 to %d bytes`, MaxReason)
	}
	ik, err := idem.New(IdemAdjust, "admin", idemKey, struct {
		OpenID string `json:"openid"`
		Amount int64  `json:"amount"`
		Reason string `json:"reason"`
	}{openid, amount, reason})
	if err != nil {
		return Adjusted{}, err
	}
	var replay []byte
	e, err := s.move(ctx, openid, func(c counters) (plan, error) {
		if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
			replay = b
			if err == nil {
				err = errNoChange
			}
			return plan{}, err
		}
		p := plan{entry: Entry{Kind: KindAdjust, Reason: reason, At: s.now()}}
		if amount > 0 {
			p.db = amount
		} else {
			if c.p+c.b < -amount {
				return plan{}, ErrInsufficient.WithMessage("the balance is %d fen", c.p+c.b)
			}
			b := min(c.b, -amount)
			p.db, p.dp = -b, -(-amount - b)
		}
		if !ik.IsZero() {
			// The entry is known before the Write except its id: record
			// the amounts; a replay reads them back.
			rec, _ := json.Marshal(Entry{Kind: KindAdjust, Reason: reason, Amount: amount, Principal: p.dp, Bonus: p.db})
			p.ops = append(p.ops, ik.Op(rec, s.now()))
		}
		return p, nil
	})
	if errors.Is(err, errNoChange) {
		var out Adjusted
		if err := json.Unmarshal(replay, &out.Entry); err != nil {
			return Adjusted{}, fmt.Errorf("wallet: corrupt idempotency record: %w", err)
		}
		out.Replayed = true
		return out, nil
	}
	return Adjusted{Entry: e}, err
}
