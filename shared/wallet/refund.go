package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store"
)

// IdemRefund names admin refunds of top-ups in Idempotency-Key records.
const IdemRefund = "topup-refund"

// RefundSweepAfter is how long a refund may wait for its REFUND.* notify
// before Sweep asks WeChat Pay about it.
const RefundSweepAfter = 10 * time.Minute

// Refund refunds the paid top-up no (an admin action): it returns in cash
// min(top-up amount, the owner's principal balance) and removes
// min(top-up bonus, the owner's bonus balance), both taken out of the
// wallet in the Write that records the refund (so they cannot be spent
// while WeChat Pay works), then asks WeChat Pay. The REFUND.* notify (or
// Sweep) finishes it; a refund WeChat Pay refuses or closes puts the money
// back. With an idemKey seen before it does nothing and returns the top-up.
//
// Returns ErrTopUpNotFound, ErrNotRefundable, ErrRefundInFlight,
// ErrNothingRefundable, invalid_request, idem.ErrKeyReused, pay errors.
func (s *Service) Refund(ctx context.Context, no, reason, idemKey string) (TopUp, bool, error) {
	if s.o.Pay == nil {
		return TopUp{}, false, ErrTopUpNotFound
	}
	if reason == "" {
		reason = "余额退款"
	}
	if len(reason) > MaxReason || !utf8.ValidString(reason) {
		return TopUp{}, false, apperr.Invalidf(`field "reason" must be at most %d bytes`, MaxReason)
	}
	ik, err := idem.New(IdemRefund, "admin", idemKey, struct {
		No     string `json:"no"`
		Reason string `json:"reason"`
	}{no, reason})
	if err != nil {
		return TopUp{}, false, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		if err != nil {
			return TopUp{}, false, err
		}
		var rec idemTopUp
		if err := json.Unmarshal(b, &rec); err != nil {
			return TopUp{}, false, fmt.Errorf("wallet: corrupt idempotency record: %w", err)
		}
		r, _, err := s.load(ctx, rec.No)
		return r.TopUp, err == nil, err
	}
	cur, _, err := s.load(ctx, no)
	if err != nil {
		return TopUp{}, false, err
	}
	if ref := cur.open(); ref != nil && ref.Status == RefundSubmitting {
		// A refund that never reached WeChat Pay: submit it again.
		out, err := s.submit(ctx, cur)
		return out.TopUp, false, err
	}
	replayed := false
	r, err := s.transition(ctx, no, func(r *record, c counters) (plan, error) {
		if !ik.IsZero() {
			if _, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
				replayed = ok
				if err == nil {
					err = errNoChange
				}
				return plan{}, err
			}
		}
		switch {
		case r.Status == Refunding:
			return plan{}, ErrRefundInFlight
		case r.Status != Paid:
			return plan{}, ErrNotRefundable.WithMessage("the top-up is %s", r.Status)
		}
		amount, bonus := min(r.Amount, c.p), min(r.Bonus, c.b)
		if amount < 1 {
			return plan{}, ErrNothingRefundable
		}
		now := s.now()
		r.Status = Refunding
		r.Refunds = append(r.Refunds, Refund{
			OutRefundNo: fmt.Sprintf("%s-r%d", r.ID, len(r.Refunds)+1), Amount: amount, BonusRemoved: bonus,
			Reason: reason, Status: RefundSubmitting, CreatedAt: now,
		})
		owner, _ := json.Marshal(map[string]string{"owner": r.Owner})
		p := plan{dp: -amount, db: -bonus, entry: Entry{Kind: KindRefund, Ref: r.ID, Reason: reason, At: now},
			ops: []store.Op{store.Put(store.Item{Key: refundingKey(r.ID), Value: owner})}}
		if !ik.IsZero() {
			rec, _ := json.Marshal(idemTopUp{No: r.ID})
			p.ops = append(p.ops, ik.Op(rec, now))
		}
		return p, nil
	})
	if err != nil || replayed {
		return r.TopUp, replayed, err
	}
	r, err = s.submit(ctx, r)
	return r.TopUp, false, err
}

// submit asks WeChat Pay for the top-up's submitting refund. WeChat Pay
// unreachable: it stays submitting, for the same out_refund_no again
// (which WeChat Pay dedupes). Refused: the money goes back.
func (s *Service) submit(ctx context.Context, r record) (record, error) {
	ref := r.open()
	if ref == nil || ref.Status != RefundSubmitting {
		return r, nil
	}
	res, err := s.o.Pay.Refund(ctx, pay.RefundRequest{
		OutTradeNo: r.OutTradeNo, OutRefundNo: ref.OutRefundNo, Reason: ref.Reason, Refund: ref.Amount, Total: r.Amount,
	})
	if errors.Is(err, pay.ErrUnavailable) {
		return r, err
	}
	if err != nil {
		code := apperr.CodeOf(err)
		var api *pay.APIError
		if errors.As(err, &api) && api.Code != "" {
			code = api.Code
		}
		out, uerr := s.transition(context.WithoutCancel(ctx), r.ID, s.refundChange(ref.OutRefundNo, RefundFailed, "", code, time.Time{}))
		if uerr != nil {
			return r, errors.Join(err, uerr)
		}
		return out, err
	}
	return s.transition(ctx, r.ID, s.refundChange(ref.OutRefundNo, refundStatus(res.Status), res.RefundID, "", res.SuccessTime))
}

func refundStatus(st string) string {
	switch st {
	case pay.RefundSuccess:
		return RefundSuccess
	case pay.RefundClosed:
		return RefundClosed
	case pay.RefundAbnormal:
		return RefundAbnormal
	}
	return RefundProcessing
}

// refundChange moves the refund outRefundNo to status. Success and
// abnormal end it with the money out (an abnormal refund is the merchant's
// to finish at WeChat Pay: the money left the wallet); failed and closed
// end it with the money back in the wallet, as it was taken out, and the
// top-up paid again (it may be refunded anew).
func (s *Service) refundChange(outRefundNo, status, refundID, code string, at time.Time) func(r *record, _ counters) (plan, error) {
	return func(r *record, _ counters) (plan, error) {
		var ref *Refund
		for i := range r.Refunds {
			if r.Refunds[i].OutRefundNo == outRefundNo {
				ref = &r.Refunds[i]
			}
		}
		if ref == nil {
			return plan{}, ErrNotifyMismatch.WithMessage("the top-up has no refund %s", outRefundNo)
		}
		if ref.Status != RefundSubmitting && ref.Status != RefundProcessing {
			return plan{}, errNoChange
		}
		if refundID != "" {
			ref.RefundID = refundID
		}
		if status == RefundProcessing {
			if ref.Status == RefundProcessing {
				return plan{}, errNoChange
			}
			ref.Status = RefundProcessing
			return plan{}, nil
		}
		done := s.now()
		if status == RefundSuccess && !at.IsZero() {
			done = at.UTC()
		}
		ref.Status, ref.DoneAt, ref.Error = status, &done, code
		p := plan{ops: []store.Op{store.Delete(refundingKey(r.ID))}}
		switch status {
		case RefundSuccess, RefundAbnormal:
			r.Status = Refunded
		default:
			r.Status = Paid
			p.dp, p.db = ref.Amount, ref.BonusRemoved
			p.entry = Entry{Kind: KindRefundReversed, Ref: r.ID, Reason: status, At: s.now()}
		}
		return p, nil
	}
}

// HandleRefund applies a verified REFUND.* notify of a top-up: the refund
// must be one of its own, for the same merchant and amount. One applied
// already changes nothing. Returns ErrTopUpNotFound, ErrNotifyMismatch,
// store errors.
func (s *Service) HandleRefund(ctx context.Context, rr pay.RefundResult) (TopUp, error) {
	if s.o.Pay == nil {
		return TopUp{}, ErrTopUpNotFound
	}
	cur, _, err := s.load(ctx, rr.OutTradeNo)
	if err != nil {
		return TopUp{}, err
	}
	if rr.MchID != s.o.Pay.MchID() {
		return TopUp{}, ErrNotifyMismatch.WithMessage("mchid does not match")
	}
	var ref *Refund
	for i := range cur.Refunds {
		if cur.Refunds[i].OutRefundNo == rr.OutRefundNo {
			ref = &cur.Refunds[i]
		}
	}
	switch {
	case ref == nil:
		return TopUp{}, ErrNotifyMismatch.WithMessage("the top-up has no refund %s", rr.OutRefundNo)
	case rr.Amount.Refund != ref.Amount:
		return TopUp{}, ErrNotifyMismatch.WithMessage("refund amount %d does not match %d", rr.Amount.Refund, ref.Amount)
	case rr.Amount.Total != 0 && rr.Amount.Total != cur.Amount:
		return TopUp{}, ErrNotifyMismatch.WithMessage("order amount %d does not match %d", rr.Amount.Total, cur.Amount)
	case rr.Status != pay.RefundSuccess && rr.Status != pay.RefundClosed && rr.Status != pay.RefundAbnormal:
		return TopUp{}, ErrNotifyMismatch.WithMessage("refund_status %q is not final", rr.Status)
	}
	out, err := s.transition(ctx, cur.ID, s.refundChange(rr.OutRefundNo, refundStatus(rr.Status), rr.RefundID, "", rr.SuccessTime))
	return out.TopUp, err
}

// Sweep is the timer's work: it closes expired top-ups (Expire), then
// finishes refunds no notify finished after RefundSweepAfter: one that
// never reached WeChat Pay is submitted again with the same out_refund_no,
// one WeChat Pay took is queried and a final answer applied.
func (s *Service) Sweep(ctx context.Context) (closed, finished int, err error) {
	closed, err = s.Expire(ctx)
	if s.o.Pay == nil {
		return closed, 0, err
	}
	errs := []error{err}
	after := ""
	for {
		items, next, qerr := s.st.Query(ctx, refundingPK, store.Query{After: after, Limit: 100})
		if qerr != nil {
			return closed, finished, errors.Join(append(errs, qerr)...)
		}
		for _, it := range items {
			done, err := s.sweepOne(ctx, it.SK)
			if done {
				finished++
			}
			errs = append(errs, err)
		}
		if next == "" {
			return closed, finished, errors.Join(errs...)
		}
		after = next
	}
}

func (s *Service) sweepOne(ctx context.Context, no string) (bool, error) {
	r, _, err := s.load(ctx, no)
	if errors.Is(err, ErrTopUpNotFound) {
		return false, s.st.Write(ctx, store.Delete(refundingKey(no)))
	}
	if err != nil {
		return false, err
	}
	ref := r.open()
	if ref == nil {
		return false, s.st.Write(ctx, store.Delete(refundingKey(no)))
	}
	if s.now().Sub(ref.CreatedAt) < RefundSweepAfter {
		return false, nil
	}
	if ref.Status == RefundSubmitting {
		out, err := s.submit(ctx, r)
		return out.open() == nil, err
	}
	res, err := s.o.Pay.QueryRefund(ctx, ref.OutRefundNo)
	if err != nil {
		return false, err
	}
	status := refundStatus(res.Status)
	if status == RefundProcessing {
		return false, nil
	}
	out, err := s.transition(ctx, no, s.refundChange(ref.OutRefundNo, status, res.RefundID, "", res.SuccessTime))
	return err == nil && out.open() == nil, err
}
