package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store"
)

// Idempotency actions.
const (
	IdemPlan  = "topup-plan-create"
	IdemTopUp = "wallet-topup"
)

// Top-up statuses.
const (
	Pending   = "pending"
	Paid      = "paid"
	Closed    = "closed"
	Refunding = "refunding"
	Refunded  = "refunded"
)

// TradePrefix starts every top-up's out_trade_no (see the package doc).
const TradePrefix = "wt"

// IsTradeNo reports whether an out_trade_no is a top-up's, so that the
// pay-notify function hands its notifies to the wallet rather than orders.
func IsTradeNo(no string) bool { return strings.HasPrefix(no, TradePrefix) }

// Plan is a top-up offer: pay Amount, receive Amount + Bonus.
type Plan struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	Bonus     int64     `json:"bonus"`
	CreatedAt time.Time `json:"created_at"`
}

// PlanInput is an admin's new plan.
type PlanInput struct {
	Amount int64 `json:"amount"`
	Bonus  int64 `json:"bonus"`
}

// Validate checks the plan's numbers.
func (in PlanInput) Validate() error {
	switch {
	case in.Amount < 1 || in.Amount > MaxTopUp:
		return apperr.Invalidf(`field "amount" must be 1 to %d fen`, MaxTopUp)
	case in.Bonus < 0 || in.Bonus > in.Amount:
		return apperr.Invalidf(`field "bonus" must be 0 to the amount`)
	}
	return nil
}

const plansPK = "wallet#plans"

func planKey(id string) store.Key { return store.Key{PK: plansPK, SK: id} }

// CreatePlan adds a top-up plan. With an idemKey seen before (from the
// admin) it creates nothing and returns the first plan. Returns
// invalid_request, idem.ErrKeyReused, store errors.
func (s *Service) CreatePlan(ctx context.Context, in PlanInput, idemKey string) (Plan, bool, error) {
	if err := in.Validate(); err != nil {
		return Plan{}, false, err
	}
	ik, err := idem.New(IdemPlan, "admin", idemKey, in)
	if err != nil {
		return Plan{}, false, err
	}
	replay := func(b []byte, err error) (Plan, bool, error) {
		if err != nil {
			return Plan{}, false, err
		}
		var p Plan
		if err := json.Unmarshal(b, &p); err != nil {
			return Plan{}, false, fmt.Errorf("wallet: corrupt idempotency record: %w", err)
		}
		return p, true, nil
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return replay(b, err)
	}
	now := s.now()
	p := Plan{ID: newID(now), Amount: in.Amount, Bonus: in.Bonus, CreatedAt: now}
	b, _ := json.Marshal(p)
	ops := []store.Op{store.Put(store.Item{Key: planKey(p.ID), Value: b}).IfAbsent()}
	if !ik.IsZero() {
		ops = append(ops, ik.Op(b, now))
	}
	err = s.st.Write(ctx, ops...)
	if store.FailedOp(err) == 1 {
		b, _, err := ik.Lookup(ctx, s.st)
		return replay(b, err)
	}
	return p, false, err
}

// Plans lists the top-up plans, oldest first.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	items, _, err := s.st.Query(ctx, plansPK, store.Query{Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]Plan, 0, len(items))
	for _, it := range items {
		var p Plan
		if err := json.Unmarshal(it.Value, &p); err != nil {
			return nil, fmt.Errorf("wallet: corrupt plan %s: %w", it.Key, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *Service) plan(ctx context.Context, id string) (Plan, error) {
	if id == "" || len(id) > 64 {
		return Plan{}, ErrPlanNotFound
	}
	it, err := s.st.Get(ctx, planKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Plan{}, ErrPlanNotFound
	}
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	if err := json.Unmarshal(it.Value, &p); err != nil {
		return Plan{}, fmt.Errorf("wallet: corrupt plan %s: %w", it.Key, err)
	}
	return p, nil
}

// TopUp is one top-up: Amount paid by WeChat Pay, Amount + Bonus credited.
type TopUp struct {
	ID            string     `json:"id"`
	OutTradeNo    string     `json:"out_trade_no"` // = ID
	PlanID        string     `json:"plan_id"`
	Amount        int64      `json:"amount"`
	Bonus         int64      `json:"bonus"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	TransactionID string     `json:"transaction_id,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	CloseReason   string     `json:"close_reason,omitempty"` // expired, prepay_failed
	Refunds       []Refund   `json:"refunds,omitempty"`
}

// Refund is one refund of a top-up.
type Refund struct {
	OutRefundNo  string     `json:"out_refund_no"`
	Amount       int64      `json:"amount"`        // principal returned in cash
	BonusRemoved int64      `json:"bonus_removed"` // bonus taken out with it
	Reason       string     `json:"reason"`
	Status       string     `json:"status"` // submitting, processing, success, failed, closed, abnormal
	RefundID     string     `json:"refund_id,omitempty"`
	Error        string     `json:"error,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	DoneAt       *time.Time `json:"done_at,omitempty"`
}

// Refund statuses.
const (
	RefundSubmitting = "submitting"
	RefundProcessing = "processing"
	RefundSuccess    = "success"
	RefundFailed     = "failed" // WeChat Pay refused it: nothing went out
	RefundClosed     = "closed"
	RefundAbnormal   = "abnormal" // stuck at WeChat Pay: the merchant's to finish
)

// open returns the refund in flight, if any.
func (t *TopUp) open() *Refund {
	for i := range t.Refunds {
		if st := t.Refunds[i].Status; st == RefundSubmitting || st == RefundProcessing {
			return &t.Refunds[i]
		}
	}
	return nil
}

// record is a top-up as stored: with its owner.
type record struct {
	Owner    string `json:"owner"`
	PrepayID string `json:"prepay_id,omitempty"`
	TopUp
}

func topUpKey(no string) store.Key            { return store.Key{PK: "wallet#topup#" + no, SK: "topup"} }
func userTopUpKey(owner, no string) store.Key { return store.Key{PK: "wallet#topups#" + owner, SK: no} }

const (
	pendingPK   = "wallet#pending"
	refundingPK = "wallet#refunding"
)

func pendingKey(no string) store.Key   { return store.Key{PK: pendingPK, SK: no} }
func refundingKey(no string) store.Key { return store.Key{PK: refundingPK, SK: no} }

func (r record) put() store.Op {
	b, _ := json.Marshal(r)
	return store.Put(store.Item{Key: topUpKey(r.ID), Value: b})
}

func validTradeNo(no string) bool {
	if !IsTradeNo(no) || len(no) != len(TradePrefix)+28 {
		return false
	}
	for _, c := range no[len(TradePrefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// load reads the top-up no. Returns ErrTopUpNotFound.
func (s *Service) load(ctx context.Context, no string) (record, int64, error) {
	if !validTradeNo(no) {
		return record{}, 0, ErrTopUpNotFound
	}
	it, err := s.st.Get(ctx, topUpKey(no))
	if errors.Is(err, store.ErrNotFound) {
		return record{}, 0, ErrTopUpNotFound
	}
	if err != nil {
		return record{}, 0, err
	}
	var r record
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return record{}, 0, fmt.Errorf("wallet: corrupt top-up %s: %w", it.Key, err)
	}
	return r, it.Version, nil
}

// Created is the outcome of CreateTopUp.
type Created struct {
	TopUp TopUp
	// Payment holds the wx.requestPayment parameters; nil when the top-up is
	// no longer pending (a replay after it was paid or closed).
	Payment  *pay.Payment
	Replayed bool
}

type idemTopUp struct {
	No string `json:"no"`
}

// CreateTopUp starts a top-up of the plan for openid and prepays it at
// WeChat Pay; the credit comes with the payment's confirmation
// (HandlePayment). With an idemKey seen before from openid it creates
// nothing and returns the first top-up, with fresh payment parameters
// while it is pending. Returns ErrPlanNotFound, ErrPrepayFailed,
// idem.ErrKeyReused, store errors.
func (s *Service) CreateTopUp(ctx context.Context, openid, planID, idemKey string) (Created, error) {
	if s.o.Pay == nil {
		return Created{}, ErrPrepayFailed.WithMessage("WeChat Pay is not configured")
	}
	if openid == "" {
		return Created{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "a user is required")
	}
	ik, err := idem.New(IdemTopUp, openid, idemKey, struct {
		PlanID string `json:"plan_id"`
	}{planID})
	if err != nil {
		return Created{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return s.replay(ctx, openid, b, err)
	}
	p, err := s.plan(ctx, planID)
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	no := TradePrefix + newID(now)
	r := record{Owner: openid, TopUp: TopUp{ID: no, OutTradeNo: no, PlanID: p.ID, Amount: p.Amount, Bonus: p.Bonus,
		Status: Pending, CreatedAt: now, ExpiresAt: now.Add(s.o.TTL).Truncate(time.Second)}}
	owner, _ := json.Marshal(map[string]string{"owner": openid})
	ops := []store.Op{
		r.put().IfAbsent(),
		store.Put(store.Item{Key: userTopUpKey(openid, no), Value: []byte(`{}`)}).IfAbsent(),
		store.Put(store.Item{Key: pendingKey(no), Value: owner}).IfAbsent(),
	}
	if !ik.IsZero() {
		rec, _ := json.Marshal(idemTopUp{No: no})
		ops = append(ops, ik.Op(rec, now))
	}
	err = s.st.Write(ctx, ops...)
	if i := store.FailedOp(err); i == 3 {
		b, _, err := ik.Lookup(ctx, s.st)
		return s.replay(ctx, openid, b, err)
	}
	if err != nil {
		return Created{}, err
	}
	return s.prepay(ctx, r, false)
}

func (s *Service) replay(ctx context.Context, openid string, b []byte, err error) (Created, error) {
	if err != nil {
		return Created{}, err
	}
	var rec idemTopUp
	if err := json.Unmarshal(b, &rec); err != nil {
		return Created{}, fmt.Errorf("wallet: corrupt idempotency record: %w", err)
	}
	r, _, err := s.load(ctx, rec.No)
	if err != nil {
		return Created{}, err
	}
	switch {
	case r.Status == Closed && r.CloseReason == "prepay_failed":
		return Created{}, ErrPrepayFailed
	case r.Status != Pending:
		return Created{TopUp: r.TopUp, Replayed: true}, nil
	case r.PrepayID == "":
		return s.prepay(ctx, r, true)
	}
	pp, err := s.o.Pay.PaymentParams(r.PrepayID)
	if err != nil {
		return Created{}, err
	}
	return Created{TopUp: r.TopUp, Payment: &pp, Replayed: true}, nil
}

// prepay asks WeChat Pay for the top-up's prepay_id and signs the payment
// parameters. A refusal closes the top-up.
func (s *Service) prepay(ctx context.Context, r record, replayed bool) (Created, error) {
	prepayID, err := s.o.Pay.Prepay(ctx, pay.PrepayRequest{
		OutTradeNo: r.OutTradeNo, Description: fmt.Sprintf("余额充值 %d.%02d 元", r.Amount/100, r.Amount%100),
		Total: r.Amount, PayerOpenID: r.Owner, TimeExpire: r.ExpiresAt,
	})
	if err != nil {
		if _, cerr := s.transition(context.WithoutCancel(ctx), r.ID, s.closeChange("prepay_failed")); cerr != nil {
			return Created{}, errors.Join(ErrPrepayFailed.Wrap(err), cerr) // the expiry job closes it
		}
		return Created{}, ErrPrepayFailed.Wrap(err)
	}
	saved, err := s.transition(ctx, r.ID, func(n *record, _ counters) (plan, error) {
		if n.Status != Pending || n.PrepayID == prepayID {
			return plan{}, errNoChange
		}
		n.PrepayID = prepayID
		return plan{}, nil
	})
	if err != nil {
		return Created{}, err
	}
	out := Created{TopUp: saved.TopUp, Replayed: replayed}
	if saved.Status != Pending {
		return out, nil
	}
	pp, err := s.o.Pay.PaymentParams(prepayID)
	if err != nil {
		return Created{}, err
	}
	out.Payment = &pp
	return out, nil
}

// transition applies f to the top-up no and writes it, with f's counter
// changes, in one Write conditioned on the top-up's version (and on the
// counters for a debit); on a conflict it reads both again. It returns the
// top-up as stored (as read when f says errNoChange).
func (s *Service) transition(ctx context.Context, no string, f func(r *record, c counters) (plan, error)) (record, error) {
	var out record
	cur, _, err := s.load(ctx, no)
	if err != nil {
		return record{}, err
	}
	_, err = s.move(ctx, cur.Owner, func(c counters) (plan, error) {
		r, v, err := s.load(ctx, no)
		if err != nil {
			return plan{}, err
		}
		out = r
		next := r
		next.Refunds = append([]Refund(nil), r.Refunds...)
		p, err := f(&next, c)
		if err != nil {
			return plan{}, err
		}
		out = next
		p.ops = append([]store.Op{next.put().IfVersion(v)}, p.ops...)
		return p, nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return out, err
}

// closeChange closes a pending top-up (WeChat Pay closed it, or never had it).
func (s *Service) closeChange(reason string) func(r *record, _ counters) (plan, error) {
	return func(r *record, _ counters) (plan, error) {
		if r.Status != Pending {
			return plan{}, errNoChange
		}
		now := s.now()
		r.Status, r.ClosedAt, r.CloseReason = Closed, &now, reason
		return plan{ops: []store.Op{store.Delete(pendingKey(r.ID))}}, nil
	}
}

// checkPaid checks what WeChat Pay says about a payment against the top-up.
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
	case tx.Amount.Total != r.Amount:
		return ErrNotifyMismatch.WithMessage("amount %d does not match the top-up's %d", tx.Amount.Total, r.Amount)
	case tx.Amount.Currency != "" && tx.Amount.Currency != "CNY":
		return ErrNotifyMismatch.WithMessage("currency %s is not CNY", tx.Amount.Currency)
	case tx.TransactionID == "":
		return ErrNotifyMismatch.WithMessage("transaction_id is missing")
	}
	return nil
}

// HandlePayment records a payment WeChat Pay confirmed (a TRANSACTION.*
// notify, or a query): a pending (or closed) top-up becomes paid and its
// amount and bonus are credited, in one Write conditioned on the top-up's
// version; a top-up already paid is returned unchanged, so a notify
// delivered again, or racing a query, credits nothing. Returns
// ErrTopUpNotFound, ErrNotifyMismatch, store errors.
func (s *Service) HandlePayment(ctx context.Context, tx pay.Transaction) (TopUp, error) {
	if s.o.Pay == nil {
		return TopUp{}, ErrTopUpNotFound
	}
	cur, _, err := s.load(ctx, tx.OutTradeNo)
	if err != nil {
		return TopUp{}, err
	}
	if err := s.checkPaid(tx, cur); err != nil {
		return TopUp{}, err
	}
	out, err := s.transition(ctx, cur.ID, func(r *record, _ counters) (plan, error) {
		if (r.Status != Pending && r.Status != Closed) || r.TransactionID != "" {
			return plan{}, errNoChange // this payment is already recorded
		}
		paidAt := tx.SuccessTime.UTC()
		if tx.SuccessTime.IsZero() {
			paidAt = s.now()
		}
		r.Status, r.PaidAt, r.TransactionID = Paid, &paidAt, tx.TransactionID
		return plan{dp: r.Amount, db: r.Bonus, entry: Entry{Kind: KindTopUp, Ref: r.ID, At: s.now()},
			ops: []store.Op{store.Delete(pendingKey(r.ID))}}, nil
	})
	return out.TopUp, err
}

// TopUp returns openid's top-up no; a pending one older than
// ReconcileAfter is first checked at WeChat Pay (its notify may be late or
// lost). Returns ErrTopUpNotFound, also for another user's.
func (s *Service) TopUp(ctx context.Context, openid, no string) (TopUp, error) {
	r, _, err := s.load(ctx, no)
	if err != nil {
		return TopUp{}, err
	}
	if openid != "" && r.Owner != openid {
		return TopUp{}, ErrTopUpNotFound
	}
	if r.Status != Pending || r.PrepayID == "" || s.o.Pay == nil || s.now().Sub(r.CreatedAt) < ReconcileAfter {
		return r.TopUp, nil
	}
	tx, err := s.o.Pay.Query(ctx, no)
	if err != nil || !tx.Paid() {
		return r.TopUp, nil // what we hold is the best answer
	}
	out, err := s.HandlePayment(ctx, tx)
	if err != nil {
		return r.TopUp, nil
	}
	return out, nil
}

// TopUps lists openid's top-ups, newest first, after the cursor.
func (s *Service) TopUps(ctx context.Context, openid, after string, limit int) ([]TopUp, string, error) {
	items, next, err := s.st.Query(ctx, "wallet#topups#"+openid, store.Query{After: after, Desc: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]TopUp, 0, len(items))
	for _, it := range items {
		r, _, err := s.load(ctx, it.SK)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r.TopUp)
	}
	return out, next, nil
}

// Owner returns the owner of the top-up no (for admins). Returns
// ErrTopUpNotFound.
func (s *Service) Owner(ctx context.Context, no string) (string, error) {
	r, _, err := s.load(ctx, no)
	return r.Owner, err
}

// expiredAt is when a pending entry is due: its id holds its creation time.
func (s *Service) expiredAt(no string) (time.Time, bool) {
	if !validTradeNo(no) {
		return time.Time{}, false
	}
	var ms int64
	for _, c := range no[len(TradePrefix) : len(TradePrefix)+12] {
		switch {
		case c >= '0' && c <= '9':
			ms = ms<<4 | int64(c-'0')
		default:
			ms = ms<<4 | int64(c-'a'+10)
		}
	}
	return time.UnixMilli(ms).Add(s.o.TTL), true
}

// Expire closes every pending top-up older than the TTL, oldest first: at
// WeChat Pay first (a top-up WeChat Pay says is paid is credited instead),
// then here. Two runs at once close each top-up once. It returns how many
// this run closed; errors on single top-ups are joined and do not stop it.
func (s *Service) Expire(ctx context.Context) (int, error) {
	if s.o.Pay == nil {
		return 0, nil
	}
	now := s.now()
	var n int
	var errs []error
	after := ""
	for {
		items, next, err := s.st.Query(ctx, pendingPK, store.Query{After: after, Limit: 100})
		if err != nil {
			return n, errors.Join(append(errs, err)...)
		}
		for _, it := range items {
			if due, ok := s.expiredAt(it.SK); ok && due.After(now) {
				return n, errors.Join(errs...) // the rest is younger still
			}
			closed, err := s.expireOne(ctx, it.SK)
			if closed {
				n++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if next == "" {
			return n, errors.Join(errs...)
		}
		after = next
	}
}

func (s *Service) expireOne(ctx context.Context, no string) (bool, error) {
	r, _, err := s.load(ctx, no)
	if errors.Is(err, ErrTopUpNotFound) {
		return false, s.st.Write(ctx, store.Delete(pendingKey(no)))
	}
	if err != nil || r.Status != Pending {
		return false, err
	}
	err = s.o.Pay.Close(ctx, no)
	switch {
	case err == nil, errors.Is(err, pay.ErrOrderClosed), errors.Is(err, pay.ErrOrderNotFound):
	case errors.Is(err, pay.ErrOrderPaid):
		tx, err := s.o.Pay.Query(ctx, no)
		if err != nil {
			return false, err
		}
		_, err = s.HandlePayment(ctx, tx)
		return false, err
	default:
		return false, err
	}
	out, err := s.transition(context.WithoutCancel(ctx), no, s.closeChange("expired"))
	return err == nil && out.Status == Closed && out.CloseReason == "expired", err
}
