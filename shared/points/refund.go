package points

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// credit is the value of an order payment's credit item
// (points#credit#<transaction id>): what the order earned and how much of
// it was refunded. Pending marks an item that a refund wrote before the
// order's credit happened: nothing was credited yet.
type credit struct {
	OpenID   string `json:"openid"`
	OrderID  string `json:"order_id"`
	Points   int64  `json:"points"`             // P: credited for the whole total (0 while pending)
	Total    int64  `json:"total,omitempty"`    // T: the order's total, fen
	Refunded int64  `json:"refunded,omitempty"` // R: fen refunded so far, in all
	Pending  bool   `json:"pending,omitempty"`
}

func (c credit) put(txid string) store.Op {
	b, _ := json.Marshal(c)
	return store.Put(store.Item{Key: creditKey(txid), Value: b})
}

// takenBack is what refunds of r fen out of total take back of p points in
// all: p·r/total rounded half up, and exactly p once all of it is refunded.
// Each refund takes the difference between this after and before it, so the
// sum never drifts from the proportion, however the refunds are split.
func takenBack(p, r, total int64) int64 {
	if total <= 0 || r >= total {
		return p
	}
	if r <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(p), big.NewInt(2*r))
	n.Add(n, big.NewInt(total))
	return n.Quo(n, big.NewInt(2*total)).Int64()
}

// creditAttempts bounds CreditOrder's re-read-and-retry loop.
const creditAttempts = 10

// CreditOrder credits a paid order's points once per payment, keyed by the
// WeChat Pay transaction id: repeated notifies credit nothing more. If
// refunds of the order succeeded before this credit (the paid hook failed
// and is retried), it credits only what they leave: P − P·R/T. Returns the
// points credited by this call (0 when already credited or off).
func (s *Service) CreditOrder(ctx context.Context, openid, orderID, transactionID string, total int64) (int64, error) {
	return s.CreditOrderTimes(ctx, openid, orderID, transactionID, total, 1)
}

// CreditOrderTimes is CreditOrder with the points multiplied by multiplier
// (the order's membership tier recorded it; below 1 counts as 1). Refunds
// take back in proportion to what was credited, multiplier included.
func (s *Service) CreditOrderTimes(ctx context.Context, openid, orderID, transactionID string, total, multiplier int64) (int64, error) {
	pts := total * s.o.PerYuan / 100 * max(multiplier, 1)
	if pts <= 0 || transactionID == "" {
		return 0, nil
	}
	for range creditAttempts {
		now := s.now()
		entry, _ := s.entryOp(openid, Entry{Delta: pts, Reason: ReasonOrder, Ref: orderID, At: now})
		c := credit{OpenID: openid, OrderID: orderID, Points: pts, Total: total}
		err := s.st.Write(ctx, c.put(transactionID).IfAbsent(), entry, store.Add(balanceKey(openid), pts),
			stats.Op(stats.PointsEarned, now, transactionID, pts)) // + the day's counter (package stats)
		if err == nil {
			return pts, nil
		}
		if store.FailedOp(err) != 0 {
			return 0, err
		}
		// The item exists: credited already, or a refund got here first.
		it, err := s.st.Get(ctx, creditKey(transactionID))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if err := json.Unmarshal(it.Value, &c); err != nil {
			return 0, fmt.Errorf("points: corrupt credit item %s: %w", it.Key, err)
		}
		if !c.Pending {
			return 0, nil
		}
		net := pts - takenBack(pts, c.Refunded, total)
		c.Points, c.Total, c.Pending = pts, total, false
		ops := []store.Op{c.put(transactionID).IfVersion(it.Version)}
		if net > 0 {
			entry, _ := s.entryOp(openid, Entry{Delta: net, Reason: ReasonOrder, Ref: orderID, At: now})
			ops = append(ops, entry, store.Add(balanceKey(openid), net), stats.Op(stats.PointsEarned, now, transactionID, net))
		}
		err = s.st.Write(ctx, ops...)
		if errors.Is(err, store.ErrConditionFailed) && store.FailedOp(err) == 0 {
			continue // a refund or another credit moved it: read again
		}
		if err != nil {
			return 0, err
		}
		return net, nil
	}
	return 0, fmt.Errorf("points: the credit of %s kept changing", transactionID)
}

// RefundOps returns the ops that take back the points of the order's
// payment transactionID for its refunds, refunded fen in all (this refund
// included) of total, to put in the Write that records the refund's
// success (the order service calls it; see order.Points):
//
//   - credited: the credit item, conditioned on the version read, now
//     with refunded, plus a ledger entry (reason "refund", negative) and
//     the balance's Add of takenBack(P, refunded) − takenBack(P, before).
//     The balance may go negative: points already spent are taken back all
//     the same, and a negative balance blocks redemptions.
//   - not credited yet: only the item, pending, with refunded, so that the
//     credit, when it comes, gives P − takenBack(P, refunded) and nothing is
//     ever taken back that was not credited.
//   - refunded already covered (the same success seen twice): nothing.
//
// If the item changes before the Write, the Write fails on its condition and
// the caller decides again (reading it anew).
func (s *Service) RefundOps(ctx context.Context, openid, orderID, transactionID string, total, refunded int64) ([]store.Op, error) {
	if transactionID == "" || total <= 0 || refunded <= 0 {
		return nil, nil
	}
	it, err := s.st.Get(ctx, creditKey(transactionID))
	if errors.Is(err, store.ErrNotFound) {
		c := credit{OpenID: openid, OrderID: orderID, Total: total, Refunded: refunded, Pending: true}
		return []store.Op{c.put(transactionID).IfAbsent()}, nil
	}
	if err != nil {
		return nil, err
	}
	var c credit
	if err := json.Unmarshal(it.Value, &c); err != nil {
		return nil, fmt.Errorf("points: corrupt credit item %s: %w", it.Key, err)
	}
	if refunded <= c.Refunded {
		return nil, nil
	}
	before := c.Refunded
	c.Refunded, c.Total = refunded, total
	ops := []store.Op{c.put(transactionID).IfVersion(it.Version)}
	if c.Pending {
		return ops, nil
	}
	if d := takenBack(c.Points, refunded, total) - takenBack(c.Points, before, total); d > 0 {
		entry, _ := s.entryOp(c.OpenID, Entry{Delta: -d, Reason: ReasonRefund, Ref: orderID, At: s.now()})
		ops = append(ops, entry, store.Add(balanceKey(c.OpenID), -d))
	}
	return ops, nil
}
