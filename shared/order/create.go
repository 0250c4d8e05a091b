package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/moderation"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store"
)

// IdemAction names order creation in Idempotency-Key records.
const IdemAction = "order-create"

// Created is the outcome of Create.
type Created struct {
	Order Order
	// Payment holds the wx.requestPayment parameters, freshly signed for the
	// order's prepay_id; nil when the order is no longer pending (a replay
	// after it was paid or cancelled).
	Payment  *pay.Payment
	Replayed bool // the Idempotency-Key was seen before: nothing new was created
}

// idemResult is what an order's Idempotency-Key record holds.
type idemResult struct {
	OrderID string `json:"order_id"`
}

// Create places an order for openid: prices come from the catalog, stock is
// reserved, the coupon locked, and the order, its indexes and the idempotency
// record are written in one Write; then WeChat Pay prepays it. If the prepay
// fails, a second Write gives back the stock and the coupon and closes the
// order, and Create returns ErrPrepayFailed.
//
// With an idemKey seen before from the same openid, Create creates nothing
// and returns the first order with fresh payment parameters for its prepay_id.
//
// Returns invalid_request errors, product.ErrNotFound, product.ErrInactive,
// ErrSoldOut, the coupon package's errors (coupon_not_found, expired,
// min_spend_not_met, coupon_unusable, …), moderation.ErrRisky (the note),
// ErrTotalTooLow, ErrPrepayFailed.
func (s *Service) Create(ctx context.Context, openid string, req CreateRequest, idemKey string) (Created, error) {
	c, err := s.create(ctx, openid, req, idemKey)
	c.Order = ownerView(c.Order) // a replay may show an order already let out
	return c, err
}

func (s *Service) create(ctx context.Context, openid string, req CreateRequest, idemKey string) (Created, error) {
	if openid == "" {
		return Created{}, ErrNoUser
	}
	if err := req.Validate(); err != nil {
		return Created{}, err
	}
	ik, err := idem.New(IdemAction, openid, idemKey, req)
	if err != nil {
		return Created{}, err
	}
	lines, err := req.lines()
	if err != nil {
		return Created{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return s.replay(ctx, openid, b, err)
	}
	if req.StoreID != "" {
		if s.o.Stores == nil {
			return Created{}, ErrNoStores
		}
		if err := s.o.Stores.CheckOpen(ctx, req.StoreID); err != nil {
			return Created{}, err
		}
	}
	if err := s.checkTable(ctx, req); err != nil { // table.go: the table only from its code's scene
		return Created{}, err
	}
	// The note is checked before the create Write: a risky one
	// (moderation.ErrRisky) reserves no stock and locks no coupon.
	note, err := s.o.Notes.Check(ctx, openid, NoteScene, req.Note)
	if err != nil {
		return Created{}, err
	}
	var r record
	for attempt := 0; ; attempt++ {
		r, err = s.reserve(ctx, openid, lines, req, note, ik)
		var lost *lostRace
		if errors.As(err, &lost) && lost.idem {
			b, _, err := ik.Lookup(ctx, s.st)
			return s.replay(ctx, openid, b, err)
		}
		if errors.As(err, &lost) && lost.wallet {
			// Another spend or credit moved the balance: decide the split
			// again on a fresh read (never more than the balance).
			if attempt < maxAttempts {
				continue
			}
			return Created{}, ErrBusy
		}
		if errors.As(err, &lost) && attempt < 3 {
			continue // the coupon changed under us: read it again
		}
		if errors.As(err, &lost) {
			return Created{}, coupon.ErrCouponUnusable
		}
		if err != nil {
			return Created{}, err
		}
		break
	}
	if r.PaidByBalance == r.Total {
		return s.payByBalance(ctx, r, false)
	}
	return s.prepay(ctx, r, false)
}

// payByBalance records the payment of an order the balance paid in full
// (taken in the create Write): no WeChat Pay transaction; transaction_id is
// "balance-" and the order id, the key of the paid hook's points. If the
// process dies between the two Writes, the order stays pending holding the
// balance: a replay of the request pays it, else the expiry job closes it
// and gives the balance back.
func (s *Service) payByBalance(ctx context.Context, r record, replayed bool) (Created, error) {
	tx := pay.Transaction{TransactionID: BalanceTransactionPrefix + r.ID, OutTradeNo: r.OutTradeNo, SuccessTime: s.o.Now().UTC()}
	out, _, err := s.update(ctx, r.Owner, r.ID, s.paidChange(ctx, tx, ""))
	if err != nil {
		return Created{}, err
	}
	out, err = s.afterPaid(ctx, out, tx.TransactionID)
	if err != nil {
		return Created{}, err
	}
	return Created{Order: out.Order, Replayed: replayed}, nil
}

// BalanceTransactionPrefix starts the transaction_id of an order the
// balance paid in full.
const BalanceTransactionPrefix = "balance-"

// lostRace reports that the create Write failed on the coupon's ops, the
// wallet's or the idempotency record.
type lostRace struct{ idem, wallet bool }

func (e *lostRace) Error() string {
	return "order: lost a race on the coupon or the idempotency record"
}

// NoteScene is the msgSecCheck scene of a buyer's note: 2, comment. A note
// is a short remark addressed to the shop about a purchase, closest to a
// comment; scene 1 (profile) is for nicknames and signatures, 3 and 4 for
// forum posts and social logs that other users read.
const NoteScene = moderation.SceneComment

// reserve prices the order and writes it with its reservations.
func (s *Service) reserve(ctx context.Context, openid string, lines []LineRequest, req CreateRequest, note moderation.Verdict, ik idem.Key) (record, error) {
	couponID := req.CouponID
	now := s.o.Now().UTC()
	id := newID(now)
	r := record{Owner: openid, Order: Order{
		ID: id, Status: Pending, OutTradeNo: id, CreatedAt: now, ExpiresAt: now.Add(s.ttl()).Truncate(time.Second),
		Scene: req.Scene, Referrer: req.Referrer,
		Note: req.Note, NoteReview: note.Review, NoteCheck: note.Reason,
		StoreID: req.StoreID, Fulfillment: req.Fulfillment, Table: req.Table,
	}}
	var ops []store.Op
	stockOp := map[int]string{} // op index → sku
	var fulfillments []string
	for _, l := range lines {
		p, err := s.o.Products.Get(ctx, l.SKU)
		if err != nil {
			return record{}, err
		}
		if !p.Active {
			return record{}, product.ErrInactive.WithMessage("product %q is not on sale", p.SKU)
		}
		if p.Limited() {
			if *p.Stock < l.Quantity {
				return record{}, ErrSoldOut.WithMessage("product %q has %d left", p.SKU, *p.Stock)
			}
			stockOp[len(ops)] = p.SKU
			ops = append(ops, store.Add(product.Key(p.SKU), -l.Quantity).AtLeast(0))
			r.Reserved = append(r.Reserved, p.SKU)
		}
		r.Items = append(r.Items, Item{SKU: p.SKU, Title: p.Title, Quantity: l.Quantity, Price: p.Price})
		r.Subtotal += p.Price * l.Quantity
		fulfillments = append(fulfillments, p.Fulfillment)
	}
	shipping, err := s.shippingFor(req.StoreID, fulfillments, req.Address) // shipping.go
	if err != nil {
		return record{}, err
	}
	r.Shipping, r.Address = shipping, req.Address
	if s.o.Members != nil {
		// The member discount is its own line, before coupons: a coupon's
		// min_spend and discount apply to what it leaves (docs/members.md).
		tierID, pct, mult, err := s.o.Members.OrderTier(ctx, openid)
		if err != nil {
			return record{}, err
		}
		if tierID != "" {
			r.TierID, r.MemberDiscount = tierID, r.Subtotal*pct/100 // rounded down: the shop's favour by under 1 fen
			if mult > 1 {
				r.PointsMultiplier = mult
			}
		}
	}
	couponFrom, couponTo := len(ops), len(ops)
	if couponID != "" {
		if s.o.Coupons == nil {
			return record{}, apperr.Invalidf("this shop takes no coupons")
		}
		cops, discount, err := s.o.Coupons.LockOps(ctx, openid, couponID, id, r.Subtotal-r.MemberDiscount)
		if err != nil {
			return record{}, err
		}
		ops = append(ops, cops...)
		couponTo = len(ops)
		r.CouponID, r.Discount, r.Coupon = couponID, discount, true
	}
	r.Total = r.Subtotal - r.MemberDiscount - r.Discount
	if r.Total < 1 {
		return record{}, ErrTotalTooLow
	}
	walletFrom, walletTo := len(ops), len(ops)
	if req.UseBalance {
		if s.o.Wallet == nil || s.o.BalanceOff {
			return record{}, ErrWalletDisabled
		}
		wops, spent, err := s.o.Wallet.SpendOps(ctx, openid, id, r.Total)
		if err != nil {
			return record{}, err
		}
		ops = append(ops, wops...)
		walletTo = len(ops)
		if spent > 0 {
			r.PaidByBalance, r.PayTotal = spent, new(int64)
			*r.PayTotal = r.Total - spent
		}
	}
	put, err := r.put(now)
	if err != nil {
		return record{}, err
	}
	ix, _ := json.Marshal(tradeIndex{Owner: openid, ID: id})
	ops = append(ops,
		put.IfAbsent(),
		store.Put(store.Item{Key: tradeKey(id), Value: ix}).IfAbsent(),
		store.Put(store.Item{Key: pendingKey(id), Value: ix}).IfAbsent(),
		store.Put(store.Item{Key: allKey(id), Value: ix}).IfAbsent(),
	)
	if r.StoreID != "" {
		ops = append(ops, store.Put(store.Item{Key: storeKey(r.StoreID, id), Value: ix}).IfAbsent())
	}
	idemAt := -1
	if !ik.IsZero() {
		res, _ := json.Marshal(idemResult{OrderID: id})
		idemAt = len(ops)
		ops = append(ops, ik.Op(res, now))
	}
	err = s.st.Write(ctx, ops...)
	i := store.FailedOp(err)
	switch {
	case err == nil:
		return r, nil
	case stockOp[i] != "" && i >= 0:
		return record{}, ErrSoldOut.WithMessage("product %q is sold out", stockOp[i])
	case i >= couponFrom && i < couponTo:
		return record{}, &lostRace{}
	case i >= walletFrom && i < walletTo:
		return record{}, &lostRace{wallet: true}
	case i >= 0 && i == idemAt:
		return record{}, &lostRace{idem: true}
	}
	return record{}, err
}

// prepay asks WeChat Pay for the order's prepay_id, saves it and signs the
// payment parameters. A failure closes the order and releases what it holds.
func (s *Service) prepay(ctx context.Context, r record, replayed bool) (Created, error) {
	prepayID, err := s.o.Pay.Prepay(ctx, pay.PrepayRequest{
		OutTradeNo: r.OutTradeNo, Description: description(r.Items), Total: r.payTotal(),
		PayerOpenID: r.Owner, TimeExpire: r.ExpiresAt,
	})
	if err != nil {
		rctx, cancel := detached(ctx)
		defer cancel()
		// Say which side refused: our client (never sent) or WeChat Pay.
		failed := ErrPrepayFailed.Wrap(err)
		if errors.Is(err, pay.ErrRequestInvalid) {
			failed = ErrPrepayRefused.WithMessage("%s: %s", ErrPrepayRefused.Message, apperr.From(err).Message).Wrap(err)
		}
		if _, _, cerr := s.update(rctx, r.Owner, r.ID, s.endChange(rctx, Closed, ReasonPrepayFailed)); cerr != nil {
			// The order stays pending and the expiry job will release it.
			return Created{}, errors.Join(failed, cerr)
		}
		return Created{}, failed
	}
	saved, _, err := s.update(ctx, r.Owner, r.ID, func(n *record) ([]store.Op, error) {
		if n.Status != Pending || n.PrepayID == prepayID {
			return nil, errNoChange
		}
		n.PrepayID = prepayID
		return nil, nil
	})
	if err != nil {
		return Created{}, err
	}
	out := Created{Order: saved.Order, Replayed: replayed}
	if saved.Status != Pending {
		return out, nil // cancelled while we were prepaying: no payment
	}
	p, err := s.o.Pay.PaymentParams(prepayID)
	if err != nil {
		return Created{}, err
	}
	out.Payment = &p
	return out, nil
}

// replay answers a repeated Idempotency-Key from the order it created.
func (s *Service) replay(ctx context.Context, openid string, b []byte, err error) (Created, error) {
	if err != nil {
		return Created{}, err
	}
	var res idemResult
	if err := json.Unmarshal(b, &res); err != nil {
		return Created{}, fmt.Errorf("order: corrupt idempotency record: %w", err)
	}
	cur, err := s.load(ctx, openid, res.OrderID)
	if err != nil {
		return Created{}, err
	}
	switch {
	case cur.Status == Closed && cur.CloseReason == ReasonPrepayFailed:
		return Created{}, ErrPrepayFailed
	case cur.Status != Pending:
		return Created{Order: cur.Order, Replayed: true}, nil
	case cur.PrepayID == "" && cur.payTotal() == 0:
		return s.payByBalance(ctx, cur.record, true)
	case cur.PrepayID == "":
		// The first attempt has not prepaid yet (or died before it): prepay
		// now. WeChat Pay answers identical prepays with the same prepay_id.
		if s.o.Now().Add(time.Minute).After(cur.ExpiresAt) {
			return Created{Order: cur.Order, Replayed: true}, nil
		}
		return s.prepay(ctx, cur.record, true)
	}
	p, err := s.o.Pay.PaymentParams(cur.PrepayID)
	if err != nil {
		return Created{}, err
	}
	return Created{Order: cur.Order, Payment: &p, Replayed: true}, nil
}

// description is the prepay's description: the titles, within WeChat Pay's
// 127 bytes, cut at a character boundary.
func description(items []Item) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.Title)
		if it.Quantity > 1 {
			fmt.Fprintf(&b, " x%d", it.Quantity)
		}
	}
	d := b.String()
	for len(d) > 127 {
		_, size := utf8.DecodeLastRuneInString(d)
		d = d[:len(d)-size]
	}
	return d
}

// releaseTimeout bounds a compensating write made after the request's own
// context is gone.
const releaseTimeout = 5 * time.Second

// detached is the context of a compensating write (giving back stock and a
// coupon), which must run even when ctx was canceled because the client hung
// up mid-request: else what the request reserved waits for the expiry job.
// It keeps ctx's values (the request id) and has a deadline of its own.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
}
