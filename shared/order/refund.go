package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// RefundIdemAction names admin refunds in Idempotency-Key records.
const RefundIdemAction = "refund"

// RefundRequest is an admin's refund of an order.
type RefundRequest struct {
	Amount *int64 `json:"amount,omitempty"` // fen; default: all that is left
	Reason string `json:"reason"`           // shown to the payer, ≤80 bytes
}

// Validate checks the request's shape.
func (r RefundRequest) Validate() error {
	switch {
	case r.Reason == "" || len(r.Reason) > 80:
		return apperr.Invalidf("field \"reason\" must be 1 to 80 bytes")
	case r.Amount != nil && *r.Amount < 1:
		return apperr.Invalidf("field \"amount\" must be at least 1 fen")
	}
	return nil
}

// Refund refunds the paid order id (an admin action): the order moves to
// refunding with the refund recorded, then WeChat Pay is asked; the
// REFUND.* notify finishes it. If WeChat Pay cannot be reached, the order
// stays refunding and the same request (or any refund request for that
// amount) submits the same out_refund_no again, which WeChat Pay dedupes; if
// it refuses, the refund is marked failed and the order is paid again.
//
// Returns ErrNotFound, ErrNotRefundable, ErrRefundInFlight, pay errors.
func (s *Service) Refund(ctx context.Context, id string, req RefundRequest, idemKey string) (out Order, replayed bool, err error) {
	if err := req.Validate(); err != nil {
		return Order{}, false, err
	}
	// The key is bound to this order and this refund: the same key sent
	// for another order, or for another amount, is refused (422
	// idempotency_key_reused), never answered with the first order.
	ik, err := idem.New(RefundIdemAction, "admin", idemKey, struct {
		OrderID string `json:"order_id"`
		RefundRequest
	}{id, req})
	if err != nil {
		return Order{}, false, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return s.replayRefund(ctx, b, err)
	}
	cur, err := s.loadByTradeNo(ctx, id)
	if err != nil {
		return Order{}, false, err
	}
	if ref := cur.openRefund(); ref != nil && ref.Status == RefundSubmitting &&
		(req.Amount == nil || *req.Amount == ref.Amount) {
		// A refund that never reached WeChat Pay: submit it again.
		r, err := s.submitRefund(ctx, cur.record)
		return r.Order, false, err
	}
	now := s.o.Now().UTC()
	r, _, err := s.update(ctx, cur.Owner, cur.ID, func(r *record) ([]store.Op, error) {
		switch {
		case r.Status == Refunding:
			return nil, ErrRefundInFlight
		case r.Status != Paid:
			return nil, ErrNotRefundable.WithMessage("the order is %s", r.Status)
		}
		amount := r.refundable()
		if req.Amount != nil {
			amount = *req.Amount
		}
		if amount < 1 || amount > r.refundable() {
			return nil, ErrNotRefundable.WithMessage("at most %d fen is left to refund", r.refundable())
		}
		// WeChat Pay's part first, then the balance (docs/orders.md).
		cash := min(amount, r.payTotal()-r.cashRefunded())
		r.Status = Refunding
		r.Refunds = append(r.Refunds, Refund{
			OutRefundNo: fmt.Sprintf("%s-r%d", r.ID, len(r.Refunds)+1), Amount: amount, Reason: req.Reason,
			Balance: amount - cash, Status: RefundSubmitting, CreatedAt: now,
		})
		var ops []store.Op
		if cash == 0 {
			// All of it goes back to the wallet: done in this Write, with
			// no WeChat Pay refund.
			ref := r.Refunds[len(r.Refunds)-1].OutRefundNo
			dops, err := s.refundChange(ctx, ref, RefundSuccess, "", time.Time{})(r)
			if err != nil {
				return nil, err
			}
			ops = dops[1:] // no refunding entry was written: drop its Delete
		} else {
			ops = []store.Op{refundingOp(r)}
		}
		if ik.IsZero() {
			return ops, nil
		}
		res, _ := json.Marshal(idemResult{OrderID: r.ID})
		return append(ops, ik.Op(res, now)), nil
	})
	if errors.Is(err, errDuplicate) {
		b, _, err := ik.Lookup(ctx, s.st)
		return s.replayRefund(ctx, b, err)
	}
	if err != nil {
		return Order{}, false, err
	}
	r, err = s.submitRefund(ctx, r)
	return r.Order, false, err
}

// replayRefund answers a repeated refund request from its record: the order
// the record names, as it is now.
func (s *Service) replayRefund(ctx context.Context, rec []byte, err error) (Order, bool, error) {
	if err != nil {
		return Order{}, false, err
	}
	var res idemResult
	if err := json.Unmarshal(rec, &res); err != nil {
		return Order{}, false, fmt.Errorf("order: corrupt idempotency record: %w", err)
	}
	cur, err := s.loadByTradeNo(ctx, res.OrderID)
	return cur.Order, err == nil, err
}

// submitRefund asks WeChat Pay for the order's submitting refund.
func (s *Service) submitRefund(ctx context.Context, r record) (record, error) {
	ref := r.openRefund()
	if ref == nil || ref.Status != RefundSubmitting {
		return r, nil
	}
	res, err := s.o.Pay.Refund(ctx, pay.RefundRequest{
		OutTradeNo: r.OutTradeNo, OutRefundNo: ref.OutRefundNo, Reason: ref.Reason,
		Refund: ref.Amount - ref.Balance, Total: r.payTotal(),
	})
	if errors.Is(err, pay.ErrUnavailable) {
		return r, err // unknown outcome: keep it submitting, to be sent again
	}
	if err != nil {
		f := s.refundChange(ctx, ref.OutRefundNo, RefundFailed, "", time.Time{})
		out, _, uerr := s.update(ctx, r.Owner, r.ID, withRefundError(f, ref.OutRefundNo, payErrorCode(err)))
		if uerr != nil {
			return r, errors.Join(err, uerr)
		}
		return out, err
	}
	out, _, err := s.update(ctx, r.Owner, r.ID, s.refundChange(ctx, ref.OutRefundNo, refundStatus(res.Status), res.RefundID, res.SuccessTime))
	return out, err
}

// payErrorCode is WeChat Pay's code for a refused request (NOT_ENOUGH, …),
// or the package's code when WeChat Pay did not answer with one.
func payErrorCode(err error) string {
	var api *pay.APIError
	if errors.As(err, &api) && api.Code != "" {
		return api.Code
	}
	return apperr.CodeOf(err)
}

// withRefundError records code as the error of the refund outRefundNo when
// f changes the order.
func withRefundError(f change, outRefundNo, code string) change {
	return func(r *record) ([]store.Op, error) {
		ops, err := f(r)
		if err == nil {
			for i := range r.Refunds {
				if r.Refunds[i].OutRefundNo == outRefundNo {
					r.Refunds[i].Error = code
				}
			}
		}
		return ops, err
	}
}

// refundStatus maps WeChat Pay's refund status to ours.
func refundStatus(s string) string {
	switch s {
	case pay.RefundSuccess:
		return RefundSuccess
	case pay.RefundClosed:
		return RefundClosed
	case pay.RefundAbnormal:
		return RefundAbnormal
	}
	return RefundProcessing
}

// refundChange moves the refund outRefundNo of a refunding order to status.
// Success adds to Refunded and makes the order refunded when all of it went
// back, else paid; a merchant's refund that failed, closed or went abnormal
// makes it paid again.
//
// An automatic refund (a payment that reached a cancelled or closed order)
// that fails, closes or goes abnormal puts the order back to cancelled or
// closed, never paid: its stock and coupon were released long ago. It keeps
// paid_at and transaction_id, and its attention flag tells the merchant. A
// refused or closed one keeps its refunding entry, so that SweepRefunds
// tries it again; an abnormal one is the merchant's to handle, and leaves.
//
// The success of a merchant's refund takes back the order's points in
// proportion (Service.Points) in the same Write, so that the refund and its
// points are never recorded apart. An automatic refund takes back nothing:
// its order was never paid, so no points were credited for it.
func (s *Service) refundChange(ctx context.Context, outRefundNo, status, refundID string, at time.Time) change {
	return func(r *record) ([]store.Op, error) {
		var ref *Refund
		for i := range r.Refunds {
			if r.Refunds[i].OutRefundNo == outRefundNo {
				ref = &r.Refunds[i]
			}
		}
		if ref == nil {
			return nil, ErrNotifyMismatch.WithMessage("the order has no refund %s", outRefundNo)
		}
		if ref.Status != RefundSubmitting && ref.Status != RefundProcessing {
			return nil, errNoChange // already finished
		}
		if refundID != "" {
			ref.RefundID = refundID
		}
		if status == RefundProcessing {
			if ref.Status == RefundProcessing {
				return nil, errNoChange
			}
			ref.Status = RefundProcessing
			return nil, nil
		}
		done := s.o.Now().UTC()
		if status == RefundSuccess && !at.IsZero() {
			done = at.UTC()
		}
		ref.Status, ref.DoneAt = status, &done
		r.Status = Paid
		if status == RefundSuccess {
			r.Refunded += ref.Amount
			if r.Refunded >= r.Total || ref.Auto { // an automatic refund gives back all WeChat Pay took
				r.Status = Refunded
			}
			r.Attention = ""
			ops := []store.Op{store.Delete(refundingKey(r.ID))}
			if ref.Balance > 0 { // the balance's part, after WeChat Pay's succeeded
				wops, err := s.walletReturn(ctx, r, ref.OutRefundNo, ref.Balance)
				if err != nil {
					return nil, err
				}
				ops = append(ops, wops...)
			}
			if !ref.Auto { // stats: a merchant's refund, once, on the day it succeeded
				ops = append(ops, stats.Op(stats.Refunds, done, ref.OutRefundNo, 1), stats.Op(stats.Refunded, done, ref.OutRefundNo, ref.Amount))
			}
			if s.o.Members != nil && !ref.Auto { // growth: less what was refunded, once, in this Write
				ops = append(ops, s.o.Members.GrowthOp(r.Owner, -ref.Amount))
			}
			if s.o.Points != nil && !ref.Auto {
				pops, err := s.o.Points.RefundOps(ctx, r.Owner, r.ID, r.TransactionID, r.Total, r.Refunded)
				if err != nil {
					return nil, err
				}
				ops = append(ops, pops...)
			}
			ops = append(ops, s.queueRefundOps(r, s.o.Now())...) // queue.go: refunded in full, it leaves the queue
			return ops, nil
		} else if ref.Auto {
			r.Status = r.givenUp()
			if status == RefundAbnormal {
				r.Attention = AttentionRefundAbnormal
			} else {
				r.Attention = AttentionRefundFailed
				return nil, nil // the refunding entry stays, for the sweep's retry
			}
		}
		return []store.Op{store.Delete(refundingKey(r.ID))}, nil
	}
}

// HandleRefund applies a verified REFUND.* notify: the refund must be one of
// the order's, for the same merchant and amount; the transition and the
// notify id are written in one Write. A notify already applied changes
// nothing and returns no error.
func (s *Service) HandleRefund(ctx context.Context, notifyID string, rr pay.RefundResult) (Order, error) {
	cur, err := s.loadByTradeNo(ctx, rr.OutTradeNo)
	if err != nil {
		return Order{}, err
	}
	if rr.MchID != s.o.Pay.MchID() {
		return Order{}, ErrNotifyMismatch.WithMessage("mchid does not match")
	}
	var ref *Refund
	for i := range cur.Refunds {
		if cur.Refunds[i].OutRefundNo == rr.OutRefundNo {
			ref = &cur.Refunds[i]
		}
	}
	switch {
	case ref == nil:
		return Order{}, ErrNotifyMismatch.WithMessage("the order has no refund %s", rr.OutRefundNo)
	case rr.Amount.Refund != ref.Amount-ref.Balance:
		return Order{}, ErrNotifyMismatch.WithMessage("refund amount %d does not match %d", rr.Amount.Refund, ref.Amount-ref.Balance)
	case rr.Amount.Total != 0 && rr.Amount.Total != cur.payTotal():
		return Order{}, ErrNotifyMismatch.WithMessage("order amount %d does not match %d", rr.Amount.Total, cur.payTotal())
	case rr.Status != pay.RefundSuccess && rr.Status != pay.RefundClosed && rr.Status != pay.RefundAbnormal:
		return Order{}, ErrNotifyMismatch.WithMessage("refund_status %q is not final", rr.Status)
	}
	f := s.refundChange(ctx, rr.OutRefundNo, refundStatus(rr.Status), rr.RefundID, rr.SuccessTime)
	out, _, err := s.update(ctx, cur.Owner, cur.ID, s.withNotify(f, notifyID))
	if errors.Is(err, errDuplicate) {
		out, _, err = s.afterDuplicate(ctx, cur.Owner, cur.ID)
	}
	return out.Order, err
}

// withNotify adds the notify-id record to a change's Write.
func (s *Service) withNotify(f change, notifyID string) change {
	return func(r *record) ([]store.Op, error) {
		ops, err := f(r)
		if err != nil || notifyID == "" {
			return ops, err
		}
		return append(ops, notifyOp(notifyID, s.o.Now())), nil
	}
}

func notifyOp(notifyID string, now time.Time) store.Op {
	return store.Put(store.Item{Key: notifyKey(notifyID), Value: []byte(`{}`), ExpiresAt: now.Add(notifyTTL)}).IfAbsent()
}
