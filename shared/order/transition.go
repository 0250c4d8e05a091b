package order

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// endChange moves a pending order to cancelled or closed and gives back its
// stock and coupon. Only call it once WeChat Pay has closed the transaction
// (or never had it).
func (s *Service) endChange(ctx context.Context, to Status, reason string) change {
	return func(r *record) ([]store.Op, error) {
		if r.Status != Pending {
			return nil, errNoChange
		}
		now := s.o.Now().UTC()
		r.Status = to
		if to == Cancelled {
			r.CancelledAt = &now
		} else {
			r.ClosedAt, r.CloseReason = &now, reason
		}
		return s.releaseOps(ctx, r)
	}
}

// end closes the order's transaction at WeChat Pay, then ends the order
// (cancelled or closed). If WeChat Pay says it was paid, the order becomes
// paid instead, and end returns it so. changed says whether this call moved
// the order.
func (s *Service) end(ctx context.Context, r record, to Status, reason string) (record, bool, error) {
	var err error
	if r.payTotal() > 0 { // else never prepaid: the balance paid it all
		err = s.o.Pay.Close(ctx, r.OutTradeNo)
	}
	switch {
	case err == nil, errors.Is(err, pay.ErrOrderClosed), errors.Is(err, pay.ErrOrderNotFound):
		// Closed, or never created (the prepay failed or has not happened):
		// either way no payment can arrive any more.
	case errors.Is(err, pay.ErrOrderPaid):
		tx, err := s.o.Pay.Query(ctx, r.OutTradeNo)
		if err != nil {
			return record{}, false, err
		}
		return s.applyPaid(ctx, tx, "")
	default:
		return record{}, false, err
	}
	// The transaction is closed at WeChat Pay: release the stock and the
	// coupon now even if the caller hung up meanwhile (see detached).
	rctx, cancel := detached(ctx)
	defer cancel()
	return s.update(rctx, r.Owner, r.ID, s.endChange(rctx, to, reason))
}

// Cancel cancels openid's pending order id: closed at WeChat Pay first, then
// the stock and coupon are released. Cancelling a cancelled order returns it
// unchanged. Returns ErrNotFound (also for another user's order),
// ErrNotCancellable (also when WeChat Pay says it was paid meanwhile: the
// order is then paid), pay.ErrUnavailable.
func (s *Service) Cancel(ctx context.Context, openid, id string) (Order, error) {
	cur, err := s.load(ctx, openid, id)
	if err != nil {
		return Order{}, err
	}
	switch cur.Status {
	case Cancelled:
		return cur.Order, nil
	case Pending:
	default:
		return Order{}, ErrNotCancellable.WithMessage("the order is %s", cur.Status)
	}
	out, _, err := s.end(ctx, cur.record, Cancelled, "")
	if err != nil {
		return Order{}, err
	}
	if out.Status != Cancelled {
		return Order{}, ErrNotCancellable.WithMessage("the order is %s", out.Status)
	}
	return out.Order, nil
}

// paidChange records a payment that WeChat Pay confirmed (tx, already
// checked against the order). A pending order becomes paid and its coupon
// used. A cancelled or closed order, whose stock and coupon were released,
// goes to refunding with an automatic full refund; one that already holds
// the payment (its automatic refund failed and it went back to cancelled or
// closed) stays as it is, so a notify delivered again never makes it paid.
// Any other state has already seen this payment.
func (s *Service) paidChange(ctx context.Context, tx pay.Transaction, notifyID string) change {
	return func(r *record) ([]store.Op, error) {
		now := s.o.Now().UTC()
		paidAt := tx.SuccessTime.UTC()
		if tx.SuccessTime.IsZero() {
			paidAt = now
		}
		var ops []store.Op
		switch r.Status {
		case Pending:
			r.Status, r.PaidAt, r.TransactionID = Paid, &paidAt, tx.TransactionID
			ops = append(ops, store.Delete(pendingKey(r.ID)))
			r.Reserved = nil // the stock is sold, no longer held
			// A table order enters its store's queue (queue.go).
			ops = append(ops, s.queuePaidOps(r)...)
			// stats: the payment counts once, on its paid day, in this Write.
			ops = append(ops, stats.Op(stats.PaidOrders, paidAt, r.ID, 1), stats.Op(stats.Revenue, paidAt, r.ID, r.Total))
			if s.o.Members != nil { // growth: the whole total (WeChat Pay and balance parts), once, in this Write
				ops = append(ops, s.o.Members.GrowthOp(r.Owner, r.Total))
			}
			if r.Shipping != nil && r.Shipping.Type != ShippingExpress {
				ops = append(ops, shippingOp(r)) // uploaded below, else by the timer (shipping.go)
			}
			if r.Coupon {
				cops, err := s.o.Coupons.ConsumeOps(ctx, r.Owner, r.CouponID, r.ID)
				if err != nil {
					return nil, err
				}
				ops = append(ops, cops...)
			}
		case Cancelled, Closed:
			if r.TransactionID != "" {
				return nil, errNoChange // recorded; its automatic refund is the sweep's
			}
			r.Status, r.PaidAt, r.TransactionID = Refunding, &paidAt, tx.TransactionID
			r.Refunds = append(r.Refunds, Refund{
				OutRefundNo: r.ID + "-auto", Amount: r.payTotal(), // the balance went back at cancel/close Reason: "订单已取消，自动退款",
				Status: RefundSubmitting, Auto: true, CreatedAt: now,
			})
			ops = append(ops, refundingOp(r))
		default:
			return nil, errNoChange
		}
		if notifyID != "" {
			ops = append(ops, notifyOp(notifyID, now))
		}
		return ops, nil
	}
}

// checkPaid checks what WeChat Pay says about a payment against the order.
func (s *Service) checkPaid(tx pay.Transaction, r record) error {
	switch {
	case !tx.Paid():
		return ErrNotifyMismatch.WithMessage("trade_state is %s", tx.TradeState)
	case tx.AppID != s.o.Pay.AppID():
		return ErrNotifyMismatch.WithMessage("appid does not match")
	case tx.MchID != s.o.Pay.MchID():
		return ErrNotifyMismatch.WithMessage("mchid does not match")
	case tx.OutTradeNo != r.OutTradeNo:
		return ErrNotifyMismatch.WithMessage("out_trade_no does not match")
	case tx.Amount.Total != r.payTotal():
		return ErrNotifyMismatch.WithMessage("amount %d does not match the order's %d", tx.Amount.Total, r.payTotal())
	case tx.Amount.Currency != "" && tx.Amount.Currency != "CNY":
		return ErrNotifyMismatch.WithMessage("currency %s is not CNY", tx.Amount.Currency)
	case tx.TransactionID == "":
		return ErrNotifyMismatch.WithMessage("transaction_id is missing")
	}
	return nil
}

// applyPaid records the payment tx of the order tx.OutTradeNo, once; with a
// notifyID, the notify is recorded in the same Write. An automatic refund is
// submitted to WeChat Pay right after. changed is false for a payment
// already recorded.
func (s *Service) applyPaid(ctx context.Context, tx pay.Transaction, notifyID string) (out record, changed bool, err error) {
	cur, err := s.loadByTradeNo(ctx, tx.OutTradeNo)
	if err != nil {
		return record{}, false, err
	}
	if err := s.checkPaid(tx, cur.record); err != nil {
		return record{}, false, err
	}
	out, changed, err = s.update(ctx, cur.Owner, cur.ID, s.paidChange(ctx, tx, notifyID))
	if errors.Is(err, errDuplicate) {
		out, changed, err = s.afterDuplicate(ctx, cur.Owner, cur.ID)
	}
	if err != nil {
		return record{}, false, err
	}
	out, err = s.afterPaid(ctx, out, tx.TransactionID)
	return out, changed, err
}

// afterPaid submits the automatic refund of a late payment, uploads the
// shipping and tells the paid hook, after the paid Write of the payment
// txID (by WeChat Pay or the balance).
func (s *Service) afterPaid(ctx context.Context, out record, txID string) (record, error) {
	var err error
	// Submit the automatic refund, now or on a retry of the notify (the
	// order then still holds it as submitting).
	if ref := out.openRefund(); ref != nil && ref.Auto && ref.Status == RefundSubmitting {
		out, err = s.submitRefund(ctx, out)
		if err != nil && out.openRefund() == nil {
			// WeChat Pay refused it, and that is recorded (the order is back
			// to cancelled or closed, with the attention flag): the payment
			// is handled, and the refund sweep retries the refund. Failing
			// the notify would only have WeChat Pay repeat it for a day.
			slog.WarnContext(ctx, "order: automatic refund refused", "order", out.ID, "err", err)
			err = nil
		}
	}
	// paid is the order as this payment left it: the hook is told of it
	// even if the order moved on meanwhile (a refund the merchant started
	// at once reads "refunding" after the shipping upload below).
	paid, isPaid := out, err == nil && out.Status == Paid && out.TransactionID == txID
	// Upload the shipping of a virtual or pickup order (best effort: the
	// timer retries what WeChat does not take yet).
	if isPaid {
		out = s.shipBestEffort(ctx, out)
	}
	// Tell the hook on every confirmation of the payment, not only the one
	// that changed the order: a crash between the Write and the hook is
	// then repaired by WeChat Pay's retry. The hook must be idempotent.
	if isPaid && s.o.Paid != nil {
		err = s.o.Paid.OrderPaid(ctx, paid.Owner, paid.Order)
	}
	return out, err
}

// afterDuplicate is the outcome of a change whose Write failed with
// errDuplicate (its notify or idempotency record was already there: the
// same request was done by another delivery): the order as it is now, read
// again, and changed false, since this call changed nothing.
func (s *Service) afterDuplicate(ctx context.Context, owner, id string) (record, bool, error) {
	cur, err := s.load(ctx, owner, id)
	return cur.record, false, err
}

// Get returns openid's order id. A pending order older than ReconcileAfter
// is first checked at WeChat Pay, in case its notify is late or lost.
// Returns ErrNotFound, also for another user's order.
func (s *Service) Get(ctx context.Context, openid, id string) (Order, error) {
	cur, err := s.load(ctx, openid, id)
	if err != nil {
		return Order{}, err
	}
	return ownerView(s.reconcile(ctx, cur)), nil
}

// reconcile returns the order as read, or, for a pending order older than
// ReconcileAfter that WeChat Pay says was paid, the order after recording
// that payment.
func (s *Service) reconcile(ctx context.Context, cur loaded) Order {
	if cur.Status != Pending || cur.PrepayID == "" || s.o.Now().Sub(cur.CreatedAt) < ReconcileAfter {
		return cur.Order
	}
	tx, err := s.o.Pay.Query(ctx, cur.OutTradeNo)
	if err != nil || !tx.Paid() {
		// WeChat Pay unreachable or not paid: what we hold is the best answer.
		return cur.Order
	}
	out, _, err := s.applyPaid(ctx, tx, "")
	if err != nil {
		return cur.Order
	}
	return out.Order
}

// List returns openid's orders, newest first, after the cursor, and the
// cursor of the next page ("" when there is none).
func (s *Service) List(ctx context.Context, openid, after string, limit int) ([]Order, string, error) {
	items, next, err := s.st.Query(ctx, ownerPK(openid), store.Query{After: after, Desc: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Order, 0, len(items))
	for _, it := range items {
		l, err := decodeRecord(it)
		if err != nil {
			return nil, "", err
		}
		out = append(out, ownerView(l.Order))
	}
	return out, next, nil
}

// HandlePayment applies a verified TRANSACTION.* notify: its transaction
// must be SUCCESS and match the order (appid, mchid, out_trade_no, amount),
// and the transition and the notify id are written in one Write. A notify
// already applied changes nothing and returns no error. Returns ErrNotFound
// for an unknown out_trade_no, ErrNotifyMismatch, store and pay errors.
func (s *Service) HandlePayment(ctx context.Context, notifyID string, tx pay.Transaction) (Order, error) {
	if tx.TradeState != pay.StateSuccess {
		return Order{}, ErrNotifyMismatch.WithMessage("trade_state is %s, not SUCCESS", tx.TradeState)
	}
	out, _, err := s.applyPaid(ctx, tx, notifyID)
	return out.Order, err
}

// expiredAt returns when a pending entry becomes due for expiry: its id
// starts with the creation time in milliseconds.
func (s *Service) expiredAt(id string) (time.Time, bool) {
	if len(id) < 12 {
		return time.Time{}, false
	}
	var ms int64
	for _, c := range id[:12] {
		switch {
		case c >= '0' && c <= '9':
			ms = ms<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			ms = ms<<4 | int64(c-'a'+10)
		default:
			return time.Time{}, false
		}
	}
	return time.UnixMilli(ms).Add(s.ttl()), true
}
