package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/moderation"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store"
)

// Pay is the part of WeChat Pay that orders use; *pay.Client implements it.
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

// Coupons is the coupon side of orders; *coupon.Service implements it. Each
// method returns the ops to put in the order's own Write.
type Coupons interface {
	// LockOps locks the caller's coupon to the order and returns the discount.
	LockOps(ctx context.Context, openid, couponID, orderID string, subtotal int64) (ops []store.Op, discount int64, err error)
	// ConsumeOps marks the coupon locked to the order as used.
	ConsumeOps(ctx context.Context, openid, couponID, orderID string) ([]store.Op, error)
	// ReleaseOps makes the coupon locked to the order usable again.
	ReleaseOps(ctx context.Context, openid, couponID, orderID string) ([]store.Op, error)
}

// Points is the points side of refunds; *points.Service implements it.
type Points interface {
	// RefundOps returns the ops that take back, in the Write recording a
	// refund's success, the points credited for the order's payment
	// transactionID in proportion to refunded, the fen refunded so far in
	// all (this refund included) of the order's total.
	RefundOps(ctx context.Context, openid, orderID, transactionID string, total, refunded int64) ([]store.Op, error)
}

// Wallet is the stored-value side of orders paid with the balance
// ("use_balance"); *wallet.Service implements it. Each method returns the
// ops to put in the order's own Write (the creation; the cancellation or
// expiry; a refund's success), so that the balance and the order are
// never written apart.
type Wallet interface {
	// SpendOps takes up to max fen (what the balance covers) for the order.
	SpendOps(ctx context.Context, openid, orderID string, max int64) (ops []store.Op, spent int64, err error)
	// ReturnOps gives back amount fen of what the order took, once per ref
	// (nil ops when ref was given back already).
	ReturnOps(ctx context.Context, openid, orderID, ref string, amount int64) ([]store.Op, error)
}

// Members is the membership side of orders; *member.Service implements
// it. Create asks the caller's tier (its discount, a line before coupons,
// and its points multiplier are recorded on the order); the paid transition
// and a refund's success put GrowthOp in their own Write, so that growth
// counts each payment and refund exactly once.
type Members interface {
	// OrderTier returns openid's tier now: id ("" when none), discount
	// percent (0–99) and points multiplier (at least 1).
	OrderTier(ctx context.Context, openid string) (id string, discountPercent, multiplier int64, err error)
	// GrowthOp adds delta fen to openid's growth.
	GrowthOp(openid string, delta int64) store.Op
}

// DefaultTTL is how long an unpaid order lives (MINIFN_ORDER_TTL's default).
const DefaultTTL = 15 * time.Minute

// ReconcileAfter is the age after which reading a pending order asks WeChat
// Pay whether it was paid (the notify may be late or lost).
const ReconcileAfter = 5 * time.Second

// maxAttempts bounds the re-read-and-retry loop of a transition.
const maxAttempts = 20

// notifyTTL is how long a processed notify id is remembered: WeChat Pay
// retries for about 24 hours.
const notifyTTL = 30 * 24 * time.Hour

// Service creates orders and moves them through their states. It is safe for
// concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: st, o: o}
}

// Options are the clients and settings of a Service.
type Options struct {
	Products *product.Service
	Pay      Pay
	Coupons  Coupons // nil: orders take no coupons
	Now      func() time.Time
	TTL      time.Duration // unpaid orders are closed after this; DefaultTTL when 0
	Paid     PaidHook      // nil: nothing else happens when an order is paid
	Points   Points        // nil: refunds take back no points
	// Notes checks buyers' notes before they are stored (msgSecCheck); nil
	// stores them flagged unchecked (see shared/moderation).
	Notes *moderation.Service
	// RefundSweepAfter is how long a refund may wait for its REFUND.*
	// notify before SweepRefunds asks WeChat Pay; DefaultRefundSweepAfter
	// when 0.
	RefundSweepAfter time.Duration
	// Shipper uploads shipping information to WeChat (shipping.go); nil:
	// orders carry no shipping.
	Shipper Shipper
	// ShippingMode is MINIFN_SHIPPING_MODE: the fulfillment of products
	// that name none (ShippingVirtual when ""), or ShippingOff.
	ShippingMode string
	// Wallet gives back the balance of orders paid with it (cancelled,
	// expired, refunded) and, unless BalanceOff, lets Create take it
	// ("use_balance"). nil: "use_balance" answers ErrWalletDisabled.
	Wallet Wallet
	// BalanceOff refuses "use_balance" (ErrWalletDisabled) while Wallet
	// still gives back what earlier orders took (MINIFN_WALLET off).
	BalanceOff bool
	// Members gives tiers' discounts and multipliers and keeps growth; nil:
	// no tiers, no growth.
	Members Members
	// Stores checks the store of an order made in one ("store_id"); nil:
	// the shop has no stores and such orders answer ErrNoStores.
	Stores Stores
	// Tables checks a table order's scene (table.go); nil: table orders
	// answer ErrTableNotVerified.
	Tables Tables
	// ServedTTL is how long a served table order stays in its store's
	// queue (queue.go); DefaultServedTTL when 0.
	ServedTTL time.Duration
}

// Stores is the physical-store side of orders; *outlet.Service implements
// it.
type Stores interface {
	// CheckOpen returns nil when the store exists and takes orders, else
	// outlet's store_not_found or store_closed error.
	CheckOpen(ctx context.Context, storeID string) error
	// StaffStore returns the store a staff member works at ("" for staff
	// of no one store), or outlet's not_staff error when openid holds no
	// staff role.
	StaffStore(ctx context.Context, openid string) (storeID string, err error)
}

// PaidHook is told, after the paid Write, each time WeChat Pay confirms an
// order's payment (the same payment may be told several times: a notify
// and its retries, a query). It must be idempotent, keyed by the order's
// transaction id. An error fails the notify, so that WeChat Pay retries it.
type PaidHook interface {
	OrderPaid(ctx context.Context, owner string, o Order) error
}

func (s *Service) ttl() time.Duration {
	if s.o.TTL <= 0 {
		return DefaultTTL
	}
	return s.o.TTL
}

// tradeIndex is the value of an out_trade_no index item.
type tradeIndex struct {
	Owner string `json:"owner"`
	ID    string `json:"id"`
}

// loaded is an order as read, with the version its transition is conditioned on.
type loaded struct {
	record
	version int64
}

func decodeRecord(it store.Item) (loaded, error) {
	var r record
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return loaded{}, fmt.Errorf("order: corrupt item %s: %w", it.Key, err)
	}
	return loaded{r, it.Version}, nil
}

// load reads the order id of owner. Returns ErrNotFound if there is none.
func (s *Service) load(ctx context.Context, owner, id string) (loaded, error) {
	if !validID(id) || owner == "" {
		return loaded{}, ErrNotFound
	}
	it, err := s.st.Get(ctx, ownerKey(owner, id))
	if errors.Is(err, store.ErrNotFound) {
		return loaded{}, ErrNotFound
	}
	if err != nil {
		return loaded{}, err
	}
	return decodeRecord(it)
}

// owner returns the owner of the order with this out_trade_no (= id).
func (s *Service) owner(ctx context.Context, outTradeNo string) (string, error) {
	if !validID(outTradeNo) {
		return "", ErrNotFound
	}
	it, err := s.st.Get(ctx, tradeKey(outTradeNo))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	var ix tradeIndex
	if err := json.Unmarshal(it.Value, &ix); err != nil {
		return "", fmt.Errorf("order: corrupt index %s: %w", it.Key, err)
	}
	return ix.Owner, nil
}

// loadByTradeNo reads the order with this out_trade_no, whoever owns it.
func (s *Service) loadByTradeNo(ctx context.Context, outTradeNo string) (loaded, error) {
	owner, err := s.owner(ctx, outTradeNo)
	if err != nil {
		return loaded{}, err
	}
	return s.load(ctx, owner, outTradeNo)
}

func (r *record) put(now time.Time) (store.Op, error) {
	r.UpdatedAt = now
	b, err := json.Marshal(r)
	if err != nil {
		return store.Op{}, err
	}
	return store.Put(store.Item{Key: ownerKey(r.Owner, r.ID), Value: b}), nil
}

var (
	// errNoChange tells update that the order is already where the caller wants it.
	errNoChange = errors.New("order: no change")
	// errDuplicate is returned by update when its Write failed on a notify
	// or idempotency record: the same event or request was already applied.
	errDuplicate = errors.New("order: duplicate")
)

// change decides a transition on a fresh copy of the order: it edits r and
// returns the other ops of the Write, or errNoChange to write nothing.
type change func(r *record) ([]store.Op, error)

// update applies f to the order and writes the result conditioned on the
// version read; on a conflict it reads again and re-decides. It returns the
// order as stored and whether this call changed it.
func (s *Service) update(ctx context.Context, owner, id string, f change) (record, bool, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, err := s.load(ctx, owner, id)
		if err != nil {
			return record{}, false, err
		}
		next := cur.record
		next.Items = append([]Item(nil), cur.Items...)
		next.Refunds = append([]Refund(nil), cur.Refunds...)
		ops, err := f(&next)
		if errors.Is(err, errNoChange) {
			return cur.record, false, nil
		}
		if err != nil {
			return record{}, false, err
		}
		put, err := next.put(s.o.Now().UTC())
		if err != nil {
			return record{}, false, err
		}
		err = s.st.Write(ctx, append([]store.Op{put.IfVersion(cur.version)}, ops...)...)
		if err == nil {
			return next, true, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return record{}, false, err
		}
		if i := store.FailedOp(err); i > 0 && dedupeKey(ops[i-1].Item.Key) {
			return cur.record, false, errDuplicate
		}
		// Someone else moved the order (or a coupon/notify op lost a race
		// that a fresh read will explain): decide again.
	}
	return record{}, false, ErrBusy
}

// dedupeKey reports whether k is a notify or idempotency record, whose
// existence means "already done" rather than "changed under us".
func dedupeKey(k store.Key) bool {
	return isNotifyKey(k) || idem.IsRecord(k)
}

// walletReturn returns the ops that give amount fen of what the order r
// took back to its owner's wallet, once per ref.
func (s *Service) walletReturn(ctx context.Context, r *record, ref string, amount int64) ([]store.Op, error) {
	if s.o.Wallet == nil {
		return nil, ErrWalletDisabled.WithMessage("the order was paid with the balance but this function has no wallet")
	}
	return s.o.Wallet.ReturnOps(ctx, r.Owner, r.ID, ref, amount)
}

// releaseOps returns the ops that give back what a pending order holds: its
// stock, its coupon and its pending entry.
func (s *Service) releaseOps(ctx context.Context, r *record) ([]store.Op, error) {
	ops := []store.Op{store.Delete(pendingKey(r.ID))}
	for _, sku := range r.Reserved {
		for _, it := range r.Items {
			if it.SKU == sku {
				ops = append(ops, store.Add(product.Key(sku), it.Quantity))
			}
		}
	}
	r.Reserved = nil
	if r.PaidByBalance > 0 {
		wops, err := s.walletReturn(ctx, r, r.ID+"-release", r.PaidByBalance)
		if err != nil {
			return nil, err
		}
		ops = append(ops, wops...)
	}
	if r.Coupon {
		cops, err := s.o.Coupons.ReleaseOps(ctx, r.Owner, r.CouponID, r.ID)
		if err != nil {
			return nil, err
		}
		ops = append(ops, cops...)
		r.Coupon = false
	}
	return ops, nil
}
