package wallet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store"
)

// Pay is the part of WeChat Pay that top-ups use; *pay.Client implements it.
type Pay interface {
	AppID() string
	MchID() string
	Prepay(ctx context.Context, r pay.PrepayRequest) (prepayID string, err error)
	PaymentParams(prepayID string) (pay.Payment, error)
	Query(ctx context.Context, outTradeNo string) (pay.Transaction, error)
	Close(ctx context.Context, outTradeNo string) error
	Refund(ctx context.Context, r pay.RefundRequest) (pay.Refund, error)
	QueryRefund(ctx context.Context, outRefundNo string) (pay.Refund, error)
}

var _ Pay = (*pay.Client)(nil)

// Limits.
const (
	// MaxTopUp is the largest plan amount: 5,000 yuan, the single-purpose
	// card rules' limit for a registered (记名) card (docs/wallet.md).
	MaxTopUp = 500_000
	// MaxAdjust bounds one admin adjustment.
	MaxAdjust = 500_000
	// MaxReason bounds an adjustment's or a refund's reason (WeChat Pay's
	// refund reason is at most 80 bytes).
	MaxReason = 80
	// MaxReturns bounds the returns of one spend (the order's refunds).
	MaxReturns = 50
	// MaxAttempts bounds the re-read-and-retry loop of one move.
	MaxAttempts = 30
)

// DefaultTTL is how long an unpaid top-up lives (the order TTL's default).
const DefaultTTL = 15 * time.Minute

// ReconcileAfter is the age after which reading a pending top-up asks
// WeChat Pay whether it was paid (the notify may be late or lost).
const ReconcileAfter = 5 * time.Second

var (
	// ErrInsufficient is returned by Spend and Adjust when the balance is
	// below the amount.
	ErrInsufficient = apperr.New(apperr.Conflict, "insufficient_balance", "the wallet balance is too low")
	// ErrBusy is returned when a move lost MaxAttempts races in a row.
	ErrBusy = &apperr.Error{Kind: apperr.Unavailable, Code: "wallet_busy", Message: "the wallet is busy; try again", RetryAfter: time.Second}
	// ErrSpendMismatch is returned by Spend when the order already took a
	// different amount (or belongs to another user).
	ErrSpendMismatch = apperr.New(apperr.Conflict, "spend_mismatch", "this order already took a different amount from the wallet")
	// ErrSpendNotFound is returned by Return for an order that took nothing.
	ErrSpendNotFound = apperr.New(apperr.NotFound, "spend_not_found", "this order took nothing from the wallet")
	// ErrReturnTooLarge is returned by Return for more than the order has
	// left to give back.
	ErrReturnTooLarge = apperr.New(apperr.Conflict, "return_too_large", "more than the order took from the wallet")
	// ErrPlanNotFound is returned for an unknown or inactive top-up plan.
	ErrPlanNotFound = apperr.New(apperr.NotFound, "plan_not_found", "no such top-up plan")
	// ErrTopUpNotFound is returned for an unknown top-up (also another user's).
	ErrTopUpNotFound = apperr.New(apperr.NotFound, "topup_not_found", "no such top-up")
	// ErrPrepayFailed is returned by TopUp when WeChat Pay did not prepay;
	// the top-up is closed.
	ErrPrepayFailed = apperr.New(apperr.Upstream, "prepay_failed", "WeChat Pay could not take the payment; try again")
	// ErrNotRefundable is returned by Refund for a top-up that is not paid
	// (pending, closed, already refunded).
	ErrNotRefundable = apperr.New(apperr.Conflict, "not_refundable", "this top-up cannot be refunded")
	// ErrNothingRefundable is returned by Refund when the principal balance
	// is zero: everything this top-up brought was spent.
	ErrNothingRefundable = apperr.New(apperr.Conflict, "nothing_refundable", "the principal of this top-up was spent; nothing is left to refund")
	// ErrRefundInFlight is returned by Refund while a refund of the top-up
	// waits for WeChat Pay.
	ErrRefundInFlight = apperr.New(apperr.Conflict, "refund_in_flight", "a refund of this top-up is in progress")
	// ErrNotifyMismatch is returned when what WeChat Pay says about a
	// payment or refund does not match the top-up (amount, merchant, …).
	ErrNotifyMismatch = apperr.New(apperr.Invalid, "notify_mismatch", "the notify does not match the top-up")
)

// Ledger entry kinds.
const (
	KindTopUp          = "topup"           // a paid top-up: principal + bonus
	KindSpend          = "spend"           // an order paid with the balance
	KindReturn         = "return"          // what an order gave back (cancelled, refunded)
	KindRefund         = "refund"          // a top-up refunded: principal out in cash, its bonus removed
	KindRefundReversed = "refund_reversed" // a refund WeChat Pay refused or closed: the money back
	KindAdjust         = "adjust"          // an admin's adjustment, with its reason
)

// Entry is one ledger line. Amount is Principal + Bonus, signed: a user's
// entries sum to the balance, and their Principal and Bonus parts to the
// two counters.
type Entry struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	Principal int64     `json:"principal"`
	Bonus     int64     `json:"bonus"`
	Kind      string    `json:"kind"`
	Ref       string    `json:"ref,omitempty"`    // the top-up, the order
	Reason    string    `json:"reason,omitempty"` // adjustments, refunds
	At        time.Time `json:"at"`
}

// Balance is a user's wallet: Balance = Principal + Bonus.
type Balance struct {
	Balance   int64 `json:"balance"`
	Principal int64 `json:"principal"`
	Bonus     int64 `json:"bonus"`
}

// Options are the clients and settings of a Service.
type Options struct {
	Pay Pay              // nil: top-ups refuse (Spend, Return, Adjust work)
	Now func() time.Time // nil: time.Now
	TTL time.Duration    // unpaid top-ups are closed after this; DefaultTTL when 0
}

// Service runs wallets. It is safe for concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	return &Service{st: st, o: o}
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

func userPK(openid string) string { return "wallet#u#" + openid }
func principalKey(openid string) store.Key {
	return store.Key{PK: userPK(openid), SK: "principal"}
}
func bonusKey(openid string) store.Key { return store.Key{PK: userPK(openid), SK: "bonus"} }
func spendKey(orderID string) store.Key {
	return store.Key{PK: "wallet#spend#" + orderID, SK: "spend"}
}

// newID returns a time-sortable id: 12 hex digits of milliseconds, then 16
// random hex digits.
func newID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// entryOp returns the Put of a new ledger entry for openid.
func entryOp(openid string, e Entry) (store.Op, Entry) {
	e.ID = newID(e.At)
	e.Amount = e.Principal + e.Bonus
	b, _ := json.Marshal(e)
	return store.Put(store.Item{Key: store.Key{PK: userPK(openid), SK: "ledger#" + e.ID}, Value: b}).IfAbsent(), e
}

// counters is a user's two counters as read, with their versions (0: absent).
type counters struct {
	p, b   int64
	pv, bv int64
}

func (s *Service) read(ctx context.Context, openid string) (counters, error) {
	var c counters
	it, err := s.st.Get(ctx, principalKey(openid))
	switch {
	case err == nil:
		c.p, c.pv = it.N, it.Version
	case !errors.Is(err, store.ErrNotFound):
		return counters{}, err
	}
	it, err = s.st.Get(ctx, bonusKey(openid))
	switch {
	case err == nil:
		c.b, c.bv = it.N, it.Version
	case !errors.Is(err, store.ErrNotFound):
		return counters{}, err
	}
	return c, nil
}

// onVersion conditions op on the version read (absent when 0).
func onVersion(op store.Op, v int64) store.Op {
	if v == 0 {
		return op.IfAbsent()
	}
	return op.IfVersion(v)
}

// errNoChange tells move that there is nothing to write: the caller's
// outcome is already stored.
var errNoChange = errors.New("wallet: no change")

// plan is what a move's decide returns: the change of each counter, the
// ledger entry (written when a counter changes) and the other ops.
type plan struct {
	dp, db int64
	entry  Entry
	ops    []store.Op
}

// move reads openid's counters, lets decide choose the change, and writes
// it in one Write: the counters' Adds (AtLeast(0); a debit conditioned on
// both counters' versions, so that its split is decided on what is there),
// the ledger entry and decide's ops. Any condition failure means someone
// else wrote first: it reads again and decides again (decide must re-read
// what it depends on). It returns the entry written (zero when none).
func (s *Service) move(ctx context.Context, openid string, decide func(c counters) (plan, error)) (Entry, error) {
	for attempt := 0; attempt < MaxAttempts; attempt++ {
		c, err := s.read(ctx, openid)
		if err != nil {
			return Entry{}, err
		}
		p, err := decide(c)
		if err != nil {
			return Entry{}, err
		}
		ops, e := s.moveOps(openid, c, p)
		if len(ops) == 0 {
			return Entry{}, nil
		}
		err = s.st.Write(ctx, ops...)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return Entry{}, err
		}
	}
	return Entry{}, ErrBusy
}

// moveOps returns the ops of plan p over the counters c as read: p's ops,
// the counters' Adds (AtLeast(0); a debit conditioned on both counters'
// versions, so that its split is decided on what is there) and the ledger
// entry when a counter changes.
func (s *Service) moveOps(openid string, c counters, p plan) ([]store.Op, Entry) {
	ops := append([]store.Op(nil), p.ops...)
	if p.dp == 0 && p.db == 0 {
		return ops, Entry{}
	}
	debit := p.dp < 0 || p.db < 0
	for _, k := range []struct {
		key   store.Key
		delta int64
		v     int64
	}{{principalKey(openid), p.dp, c.pv}, {bonusKey(openid), p.db, c.bv}} {
		var op store.Op
		if k.delta != 0 {
			op = store.Add(k.key, k.delta).AtLeast(0)
		} else if debit {
			op = store.Check(k.key)
		} else {
			continue
		}
		if debit {
			op = onVersion(op, k.v)
		}
		ops = append(ops, op)
	}
	p.entry.Principal, p.entry.Bonus = p.dp, p.db
	eop, e := entryOp(openid, p.entry)
	return append(ops, eop), e
}

// Get returns openid's balance (zeros for a user with none).
func (s *Service) Get(ctx context.Context, openid string) (Balance, error) {
	c, err := s.read(ctx, openid)
	if err != nil {
		return Balance{}, err
	}
	return Balance{Balance: c.p + c.b, Principal: c.p, Bonus: c.b}, nil
}

// Ledger returns openid's ledger, newest first, after the cursor, and the
// next cursor ("" at the end).
func (s *Service) Ledger(ctx context.Context, openid, after string, limit int) ([]Entry, string, error) {
	if after != "" && !strings.HasPrefix(after, "ledger#") {
		return nil, "", apperr.Invalidf(`"after" is not a ledger cursor`)
	}
	items, next, err := s.st.Query(ctx, userPK(openid), store.Query{Prefix: "ledger#", After: after, Desc: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Entry, 0, len(items))
	for _, it := range items {
		var e Entry
		if err := json.Unmarshal(it.Value, &e); err != nil {
			return nil, "", fmt.Errorf("wallet: corrupt ledger entry %s: %w", it.Key, err)
		}
		out = append(out, e)
	}
	return out, next, nil
}
