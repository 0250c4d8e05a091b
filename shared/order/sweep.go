package order

import (
	"context"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// DefaultRefundSweepAfter is how long a refund may wait for its REFUND.*
// notify before SweepRefunds asks WeChat Pay about it. WeChat Pay usually
// notifies within seconds, and retries a failed notify for a day.
const DefaultRefundSweepAfter = 10 * time.Minute

// SweepBatch is how many refunding entries one query of SweepRefunds reads.
const SweepBatch = 100

func (s *Service) refundSweepAfter() time.Duration {
	if s.o.RefundSweepAfter <= 0 {
		return DefaultRefundSweepAfter
	}
	return s.o.RefundSweepAfter
}

// SweepRefunds finishes the refunds that no notify finished: a refund that
// never reached WeChat Pay (it failed to answer) is submitted again with the
// same out_refund_no, which WeChat Pay dedupes; a refund WeChat Pay took is
// queried, and a final answer (success, closed, abnormal) is applied as its
// notify would have been. Only refunds older than RefundSweepAfter are
// touched, so the sweep does not race the notify of a refund just made.
// The order-expire timer runs it. It returns how many refunds it finished.
//
// It also retries the automatic refund of a payment that reached a cancelled
// or closed order, once RefundSweepAfter has passed since it failed, on
// every run until it succeeds. WeChat Pay's refund doc says to retry a
// refused request (NOT_ENOUGH, …) with the original out_refund_no, so as
// never to refund twice: a refused refund is submitted again under the same
// number. A CLOSED refund is final under its number: the retry is a new
// refund, <id>-auto2, <id>-auto3, …. An ABNORMAL one is not retried (the
// merchant handles it on the merchant platform).
func (s *Service) SweepRefunds(ctx context.Context) (finished int, err error) {
	return s.walk(ctx, refundingPK, SweepBatch, func(it store.Item) (bool, bool, error) {
		done, err := s.sweepOne(ctx, it)
		return done, false, err
	})
}

// sweepOne looks at the order behind one refunding entry.
func (s *Service) sweepOne(ctx context.Context, it store.Item) (bool, error) {
	cur, ok, err := s.entryOrder(ctx, it)
	if !ok {
		return false, err
	}
	ref := cur.openRefund()
	if ref == nil {
		if last := cur.autoRetry(); last != nil {
			return s.retryAuto(ctx, cur, *last)
		}
	}
	if cur.Status != Refunding || ref == nil {
		// Finished by a Write that predates the entry's removal: drop it.
		return false, s.st.Write(ctx, store.Delete(it.Key))
	}
	if s.o.Now().Sub(ref.CreatedAt) < s.refundSweepAfter() {
		return false, nil
	}
	if ref.Status == RefundSubmitting {
		out, err := s.submitRefund(ctx, cur.record)
		return out.openRefund() == nil, err
	}
	res, err := s.o.Pay.QueryRefund(ctx, ref.OutRefundNo)
	if err != nil {
		return false, err
	}
	status := refundStatus(res.Status)
	if status == RefundProcessing {
		return false, nil // still with the bank: ask again next time
	}
	_, changed, err := s.update(ctx, cur.Owner, cur.ID, s.refundChange(ctx, ref.OutRefundNo, status, res.RefundID, res.SuccessTime))
	return changed, err
}

// retryAuto submits again the automatic refund last of a given-up order,
// once it has waited RefundSweepAfter since it failed (see SweepRefunds).
func (s *Service) retryAuto(ctx context.Context, cur loaded, last Refund) (bool, error) {
	if last.DoneAt != nil && s.o.Now().Sub(*last.DoneAt) < s.refundSweepAfter() {
		return false, nil
	}
	now := s.o.Now().UTC()
	out, changed, err := s.update(ctx, cur.Owner, cur.ID, func(r *record) ([]store.Op, error) {
		ref := r.autoRetry()
		if ref == nil || ref.OutRefundNo != last.OutRefundNo || ref.Status != last.Status {
			return nil, errNoChange // another run got there first
		}
		if ref.Status == RefundFailed {
			// Refused: WeChat Pay recorded nothing under this number.
			ref.Status, ref.DoneAt, ref.Error = RefundSubmitting, nil, ""
		} else {
			auto := 0
			for _, x := range r.Refunds {
				if x.Auto {
					auto++
				}
			}
			r.Refunds = append(r.Refunds, Refund{
				OutRefundNo: fmt.Sprintf("%s-auto%d", r.ID, auto+1), Amount: r.payTotal() - r.Refunded,
				Reason: ref.Reason, Status: RefundSubmitting, Auto: true, CreatedAt: now,
			})
		}
		r.Status = Refunding
		return []store.Op{refundingOp(r)}, nil
	})
	if err != nil || !changed {
		return false, err
	}
	out, err = s.submitRefund(ctx, out)
	return out.Status == Refunded, err
}
