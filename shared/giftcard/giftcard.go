// Package giftcard implements gift cards: a user buys a card of an amount
// with WeChat Pay, sends it (a one-time token the Mini-Program shares in a
// chat), and the first other user who claims it receives its value in their
// wallet (package wallet). An unclaimed card can be taken back by its buyer:
// its value then goes to the buyer's wallet. docs/wallet.md states the rules.
//
// # Life of a card
//
//	pending ──paid (notify / query)──▶ paid ──send──▶ sent ──claim──▶ claimed
//	   └──expiry job (closed at WeChat Pay first)──▶ closed      └──revoke──▶ revoked ◀──revoke──┘ (send again: a new token)
//
// A payment confirmed for a closed card (the close raced it) makes it paid
// all the same: a card holds no stock.
//
// The card's value lives in the card record between its payment and its
// claim (or revoke); it is in no wallet. Claim and Revoke are each ONE Write:
// the card's Put conditioned on the version read (in status paid or sent),
// the claimer's list entry, and the wallet's CreditOps. Two claimers, a claim and
// a revoke, or a revoke and a claim racing, write against the same version:
// one Write wins, the others fail on the card's condition, read again and
// find it claimed or revoked. So a card's value lands in exactly one wallet,
// once.
//
// A card's out_trade_no is its id: "gc" and 28 hex digits (creation time in
// milliseconds and random bits), distinct from orders (28 hex) and top-ups
// ("wt…"): the one pay-notify function tells them apart by the prefix
// (IsTradeNo).
//
// # Tokens
//
// Send makes a random 128-bit token, returns it once, and stores only its
// SHA-256 (a leaked store does not let anyone claim). It expires after
// TokenTTL (24 h: a chat share is opened within the day; a stale share
// cannot be claimed weeks later by whoever finds it). Sending again replaces
// the token (the old one no longer claims). A claimed or revoked card's
// token record stays until it expires, so that a late claimer is told the
// card was claimed or taken back (409), not that the link is unknown.
//
// # Key layout
//
//	giftcard#card#<id>  / card      the card (JSON with buyer, claimer, token hash)
//	giftcard#u#<openid> / <id>      the user's cards (index; value {"role"})
//	giftcard#token#<sha256> / token the live token of a sent card ({"id"})
//	giftcard#pending    / <id>      unpaid cards, oldest first, for the expiry job
//	giftcard#all        / <id>      every card, time-ordered (the merchant's list)
//	giftcard#st#<status> / <id>     every card in that status, time-ordered; moved
//	                                in the same Write as each status change (update)
//	idem#…                          Idempotency-Key records (package idem)
package giftcard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wallet"
)

// Pay is the part of WeChat Pay gift cards use; *pay.Client implements it.
type Pay interface {
	AppID() string
	MchID() string
	Prepay(ctx context.Context, r pay.PrepayRequest) (prepayID string, err error)
	PaymentParams(prepayID string) (pay.Payment, error)
	Query(ctx context.Context, outTradeNo string) (pay.Transaction, error)
	Close(ctx context.Context, outTradeNo string) error
}

var _ Pay = (*pay.Client)(nil)

// Limits and durations.
const (
	// MaxAmount is the largest card: the wallet's largest top-up (5,000
	// yuan, docs/wallet.md).
	MaxAmount = wallet.MaxTopUp
	// MaxMessage bounds a card's message, in characters.
	MaxMessage = 100
	// TokenTTL is how long a sent card's token claims (see the package doc).
	TokenTTL = 24 * time.Hour
	// DefaultTTL is how long an unpaid card's payment stays open.
	DefaultTTL = 15 * time.Minute
	// MaxAttempts bounds the re-read-and-retry loop of a claim or revoke.
	MaxAttempts = 30
	// ReconcileAfter is the age after which reading a pending card asks
	// WeChat Pay whether it was paid.
	ReconcileAfter = 5 * time.Second
)

// Statuses.
const (
	Pending = "pending"
	Paid    = "paid"
	Sent    = "sent"
	Claimed = "claimed"
	Revoked = "revoked"
	Closed  = "closed" // unpaid past its TTL (Expire)
)

// Roles in a user's list.
const (
	RoleBuyer   = "buyer"
	RoleClaimer = "claimer"
)

// TradePrefix starts every card's out_trade_no.
const TradePrefix = "gc"

// IdemBuy is the Idempotency-Key action of a purchase.
const IdemBuy = "giftcard-buy"

// IsTradeNo reports whether an out_trade_no is a gift card's, so that the
// pay-notify function hands its notifies to this package.
func IsTradeNo(no string) bool { return strings.HasPrefix(no, TradePrefix) }

var (
	// ErrNotFound is returned for an unknown card (also another user's).
	ErrNotFound = apperr.New(apperr.NotFound, "giftcard_not_found", "no such gift card")
	// ErrTokenInvalid is returned by Claim for an unknown, replaced or
	// expired token.
	ErrTokenInvalid = apperr.New(apperr.NotFound, "token_invalid", "this gift card link is not valid (expired or replaced)")
	// ErrOwnCard is returned by Claim when the buyer claims their own card.
	ErrOwnCard = apperr.New(apperr.Forbidden, "own_giftcard", "you cannot claim a gift card you bought; take it back instead")
	// ErrClaimed is returned by Claim, Send and Revoke for a claimed card.
	ErrClaimed = apperr.New(apperr.Conflict, "giftcard_claimed", "this gift card was already claimed")
	// ErrRevoked is returned by Claim, Send and Revoke for a card taken back.
	ErrRevoked = apperr.New(apperr.Conflict, "giftcard_revoked", "this gift card was taken back by its buyer")
	// ErrNotPaid is returned by Send and Revoke for a card not paid yet.
	ErrNotPaid = apperr.New(apperr.Conflict, "giftcard_not_paid", "this gift card is not paid yet")
	// ErrPrepayFailed is returned by Buy when WeChat Pay did not prepay.
	ErrPrepayFailed = apperr.New(apperr.Upstream, "prepay_failed", "WeChat Pay could not take the payment; try again")
	// ErrNotifyMismatch is returned when what WeChat Pay says about a
	// payment does not match the card.
	ErrNotifyMismatch = apperr.New(apperr.Invalid, "notify_mismatch", "the notify does not match the gift card")
	// ErrBusy is returned when a claim or revoke lost MaxAttempts races.
	ErrBusy = &apperr.Error{Kind: apperr.Unavailable, Code: "giftcard_busy", Message: "the gift card is busy; try again", RetryAfter: time.Second}
)

// Card is a gift card as its buyer and claimer see it.
type Card struct {
	ID             string     `json:"id"`
	OutTradeNo     string     `json:"out_trade_no"` // = ID
	Amount         int64      `json:"amount"`
	Message        string     `json:"message,omitempty"`
	Status         string     `json:"status"`
	Role           string     `json:"role,omitempty"` // in lists: buyer or claimer
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      time.Time  `json:"expires_at"` // of the payment
	PaidAt         *time.Time `json:"paid_at,omitempty"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty"`
	ClaimedAt      *time.Time `json:"claimed_at,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
}

// record is a card as stored.
type record struct {
	Buyer     string `json:"buyer"`
	Claimer   string `json:"claimer,omitempty"`
	TokenHash string `json:"token_hash,omitempty"`
	PrepayID  string `json:"prepay_id,omitempty"`
	Card
}

func cardKey(id string) store.Key         { return store.Key{PK: "giftcard#card#" + id, SK: "card"} }
func userKey(openid, id string) store.Key { return store.Key{PK: "giftcard#u#" + openid, SK: id} }
func tokenKey(hash string) store.Key      { return store.Key{PK: "giftcard#token#" + hash, SK: "token"} }
func pendingKey(id string) store.Key      { return store.Key{PK: pendingPK, SK: id} }
func allKey(id string) store.Key          { return store.Key{PK: allPK, SK: id} }
func statusKey(st, id string) store.Key   { return store.Key{PK: "giftcard#st#" + st, SK: id} }
func roleValue(role string) []byte        { b, _ := json.Marshal(map[string]string{"role": role}); return b }
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
func (r record) put() store.Op {
	b, _ := json.Marshal(r)
	return store.Put(store.Item{Key: cardKey(r.ID), Value: b})
}
func (r record) view(role string) Card { c := r.Card; c.Role = role; return c }
func validID(id string) bool           { return len(id) == len(TradePrefix)+28 && IsTradeNo(id) && isHex(id[2:]) }
func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

const pendingPK = "giftcard#pending"

// allPK holds the merchant's index of every card. One partition, not
// sharded as orders' are: a shop sells far fewer gift cards than orders,
// and an entry is written once per card (its status entries once per
// change).
const allPK = "giftcard#all"

// Options are the clients and settings of a Service.
type Options struct {
	Pay    Pay              // nil: purchases refuse
	Wallet *wallet.Service  // required: where claimed and revoked values go
	Now    func() time.Time // nil: time.Now
	TTL    time.Duration    // the payment's expiry; DefaultTTL when 0
}

// Service runs gift cards. It is safe for concurrent use.
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
	if o.Wallet == nil {
		o.Wallet = wallet.New(st, wallet.Options{Now: o.Now})
	}
	return &Service{st: st, o: o}
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

func newID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%012x%s", TradePrefix, now.UnixMilli(), hex.EncodeToString(b[:]))
}

func (s *Service) load(ctx context.Context, id string) (record, int64, error) {
	if !validID(id) {
		return record{}, 0, ErrNotFound
	}
	it, err := s.st.Get(ctx, cardKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return record{}, 0, ErrNotFound
	}
	if err != nil {
		return record{}, 0, err
	}
	var r record
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return record{}, 0, fmt.Errorf("giftcard: corrupt card %s: %w", it.Key, err)
	}
	return r, it.Version, nil
}

// Bought is the outcome of Buy.
type Bought struct {
	Card Card
	// Payment holds the wx.requestPayment parameters; nil when the card is
	// no longer pending (a replay after it was paid).
	Payment  *pay.Payment
	Replayed bool
}

// Buy creates a card of amount fen for openid and prepays it at WeChat Pay;
// it becomes paid with the payment's confirmation (HandlePayment). With an
// idemKey seen before from openid it creates nothing and returns the first
// card. Returns invalid_request, ErrPrepayFailed, idem.ErrKeyReused, store
// errors.
func (s *Service) Buy(ctx context.Context, openid string, amount int64, message, idemKey string) (Bought, error) {
	if s.o.Pay == nil {
		return Bought{}, ErrPrepayFailed.WithMessage("WeChat Pay is not configured")
	}
	if openid == "" {
		return Bought{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "a user is required")
	}
	switch {
	case amount < 1 || amount > MaxAmount:
		return Bought{}, apperr.Invalidf(`field "amount" must be 1 to %d fen`, MaxAmount)
	case !utf8.ValidString(message) || utf8.RuneCountInString(message) > MaxMessage:
		return Bought{}, apperr.Invalidf(`field "message" must be at most %d characters of UTF-8`, MaxMessage)
	}
	ik, err := idem.New(IdemBuy, openid, idemKey, struct {
		Amount  int64  `json:"amount"`
		Message string `json:"message"`
	}{amount, message})
	if err != nil {
		return Bought{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return s.replay(ctx, b, err)
	}
	now := s.now()
	id := newID(now)
	r := record{Buyer: openid, Card: Card{ID: id, OutTradeNo: id, Amount: amount, Message: message, Status: Pending,
		CreatedAt: now, ExpiresAt: now.Add(s.o.TTL).Truncate(time.Second)}}
	ops := []store.Op{r.put().IfAbsent(), store.Put(store.Item{Key: userKey(openid, id), Value: roleValue(RoleBuyer)}).IfAbsent(),
		store.Put(store.Item{Key: pendingKey(id), Value: []byte(`{}`)}).IfAbsent()}
	if !ik.IsZero() {
		rec, _ := json.Marshal(map[string]string{"id": id})
		ops = append(ops, ik.Op(rec, now)) // stays op 3: FailedOp below
	}
	ops = append(ops, store.Put(store.Item{Key: allKey(id), Value: []byte(`{}`)}),
		store.Put(store.Item{Key: statusKey(Pending, id), Value: []byte(`{}`)}))
	err = s.st.Write(ctx, ops...)
	if store.FailedOp(err) == 3 {
		b, _, err := ik.Lookup(ctx, s.st)
		return s.replay(ctx, b, err)
	}
	if err != nil {
		return Bought{}, err
	}
	return s.prepay(ctx, r, false)
}

func (s *Service) replay(ctx context.Context, b []byte, err error) (Bought, error) {
	if err != nil {
		return Bought{}, err
	}
	var rec struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return Bought{}, fmt.Errorf("giftcard: corrupt idempotency record: %w", err)
	}
	r, _, err := s.load(ctx, rec.ID)
	if err != nil {
		return Bought{}, err
	}
	if r.Status != Pending {
		return Bought{Card: r.view(RoleBuyer), Replayed: true}, nil
	}
	if r.PrepayID == "" {
		return s.prepay(ctx, r, true)
	}
	pp, err := s.o.Pay.PaymentParams(r.PrepayID)
	if err != nil {
		return Bought{}, err
	}
	return Bought{Card: r.view(RoleBuyer), Payment: &pp, Replayed: true}, nil
}

func (s *Service) prepay(ctx context.Context, r record, replayed bool) (Bought, error) {
	prepayID, err := s.o.Pay.Prepay(ctx, pay.PrepayRequest{
		OutTradeNo: r.OutTradeNo, Description: fmt.Sprintf("礼品卡 %d.%02d 元", r.Amount/100, r.Amount%100),
		Total: r.Amount, PayerOpenID: r.Buyer, TimeExpire: r.ExpiresAt,
	})
	if err != nil {
		return Bought{}, ErrPrepayFailed.Wrap(err)
	}
	saved, err := s.update(ctx, r.ID, func(n *record) ([]store.Op, error) {
		if n.Status != Pending || n.PrepayID == prepayID {
			return nil, errNoChange
		}
		n.PrepayID = prepayID
		return nil, nil
	})
	if err != nil {
		return Bought{}, err
	}
	out := Bought{Card: saved.view(RoleBuyer), Replayed: replayed}
	if saved.Status != Pending {
		return out, nil
	}
	pp, err := s.o.Pay.PaymentParams(prepayID)
	if err != nil {
		return Bought{}, err
	}
	out.Payment = &pp
	return out, nil
}

var errNoChange = errors.New("giftcard: no change")

// update applies f to the card id and writes it with f's ops in one Write
// conditioned on the version read; on a lost race it reads again. It
// returns the card as stored (as read when f says errNoChange).
func (s *Service) update(ctx context.Context, id string, f func(r *record) ([]store.Op, error)) (record, error) {
	for range MaxAttempts {
		r, v, err := s.load(ctx, id)
		if err != nil {
			return record{}, err
		}
		next := r
		ops, err := f(&next)
		if errors.Is(err, errNoChange) {
			return r, nil
		}
		if err != nil {
			return r, err
		}
		if next.Status != r.Status {
			// The merchant's status index moves in the same Write.
			ops = append(ops, store.Delete(statusKey(r.Status, id)),
				store.Put(store.Item{Key: statusKey(next.Status, id), Value: []byte(`{}`)}))
		}
		err = s.st.Write(ctx, append([]store.Op{next.put().IfVersion(v)}, ops...)...)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return record{}, err
		}
	}
	return record{}, ErrBusy
}

// HandlePayment records a payment WeChat Pay confirmed (a notify or a
// query): a pending card becomes paid, in one Write conditioned on its
// version; a card already paid is returned unchanged, so a notify delivered
// again, or racing a query, changes nothing. Returns ErrNotFound,
// ErrNotifyMismatch, store errors.
func (s *Service) HandlePayment(ctx context.Context, tx pay.Transaction) (Card, error) {
	if s.o.Pay == nil {
		return Card{}, ErrNotFound
	}
	cur, _, err := s.load(ctx, tx.OutTradeNo)
	if err != nil {
		return Card{}, err
	}
	switch {
	case !tx.Paid():
		return Card{}, ErrNotifyMismatch.WithMessage("trade_state is %s", tx.TradeState)
	case tx.AppID != s.o.Pay.AppID(), tx.MchID != s.o.Pay.MchID():
		return Card{}, ErrNotifyMismatch.WithMessage("appid or mchid does not match")
	case tx.Amount.Total != cur.Amount:
		return Card{}, ErrNotifyMismatch.WithMessage("amount %d does not match the card's %d", tx.Amount.Total, cur.Amount)
	case tx.Amount.Currency != "" && tx.Amount.Currency != "CNY":
		return Card{}, ErrNotifyMismatch.WithMessage("currency %s is not CNY", tx.Amount.Currency)
	case tx.TransactionID == "":
		return Card{}, ErrNotifyMismatch.WithMessage("transaction_id is missing")
	}
	out, err := s.update(ctx, cur.ID, func(r *record) ([]store.Op, error) {
		if (r.Status != Pending && r.Status != Closed) || r.TransactionID != "" {
			return nil, errNoChange
		}
		paidAt := tx.SuccessTime.UTC()
		if tx.SuccessTime.IsZero() {
			paidAt = s.now()
		}
		r.Status, r.PaidAt, r.TransactionID = Paid, &paidAt, tx.TransactionID
		return []store.Op{store.Delete(pendingKey(r.ID))}, nil
	})
	return out.view(RoleBuyer), err
}

// Get returns the card id as openid sees it (its buyer or claimer); a
// pending one older than ReconcileAfter is first checked at WeChat Pay.
// Returns ErrNotFound, also for a stranger's.
func (s *Service) Get(ctx context.Context, openid, id string) (Card, error) {
	r, _, err := s.load(ctx, id)
	if err != nil {
		return Card{}, err
	}
	role := roleOf(r, openid)
	if role == "" {
		return Card{}, ErrNotFound
	}
	if r.Status == Pending && r.PrepayID != "" && s.o.Pay != nil && s.now().Sub(r.CreatedAt) >= ReconcileAfter {
		if tx, err := s.o.Pay.Query(ctx, id); err == nil && tx.Paid() {
			if c, err := s.HandlePayment(ctx, tx); err == nil {
				c.Role = role
				return c, nil
			}
		}
	}
	return r.view(role), nil
}

func roleOf(r record, openid string) string {
	switch {
	case openid == "":
		return ""
	case r.Buyer == openid:
		return RoleBuyer
	case r.Claimer == openid:
		return RoleClaimer
	}
	return ""
}

// List returns openid's cards (bought, sent, received), newest first, after
// the cursor, and the next cursor.
func (s *Service) List(ctx context.Context, openid, after string, limit int) ([]Card, string, error) {
	items, next, err := s.st.Query(ctx, "giftcard#u#"+openid, store.Query{After: after, Desc: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Card, 0, len(items))
	for _, it := range items {
		r, _, err := s.load(ctx, it.SK)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r.view(roleOf(r, openid)))
	}
	return out, next, nil
}

// Send makes a new one-time token for openid's paid card and returns it
// (only its hash is stored); a card sent before gets a new token and the
// old one stops working. Returns ErrNotFound, ErrNotPaid, ErrClaimed,
// ErrRevoked, store errors.
func (s *Service) Send(ctx context.Context, openid, id string) (string, Card, error) {
	var raw [16]byte
	rand.Read(raw[:])
	token := hex.EncodeToString(raw[:])
	h := hashToken(token)
	out, err := s.update(ctx, id, func(r *record) ([]store.Op, error) {
		if r.Buyer != openid {
			return nil, ErrNotFound
		}
		if err := statusErr(r.Status); err != nil {
			return nil, err
		}
		now := s.now()
		exp := now.Add(TokenTTL)
		var ops []store.Op
		if r.TokenHash != "" {
			ops = append(ops, store.Delete(tokenKey(r.TokenHash)))
		}
		tv, _ := json.Marshal(map[string]string{"id": r.ID})
		// The token record expires with the token (the store drops it);
		// Claim checks the card's TokenExpiresAt all the same.
		ops = append(ops, store.Put(store.Item{Key: tokenKey(h), Value: tv}).IfAbsent().ExpiringAt(exp))
		r.Status, r.TokenHash, r.SentAt, r.TokenExpiresAt = Sent, h, &now, &exp
		return ops, nil
	})
	if err != nil {
		return "", Card{}, err
	}
	return token, out.view(RoleBuyer), nil
}

// statusErr says why a card in status st can be neither sent, claimed nor
// revoked (nil when it can).
func statusErr(st string) error {
	switch st {
	case Paid, Sent:
		return nil
	case Claimed:
		return ErrClaimed
	case Revoked:
		return ErrRevoked
	}
	return ErrNotPaid
}

// Claim moves the value of the card the token names into openid's wallet
// (as bonus: gift value is not refundable in cash), in one Write with the
// card's change to claimed (see the package doc). Returns ErrTokenInvalid,
// ErrOwnCard, ErrClaimed, ErrRevoked, ErrBusy, store errors.
func (s *Service) Claim(ctx context.Context, openid, token string) (Card, error) {
	if openid == "" {
		return Card{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "a user is required")
	}
	if len(token) != 32 || !isHex(token) {
		return Card{}, ErrTokenInvalid
	}
	h := hashToken(token)
	it, err := s.st.Get(ctx, tokenKey(h))
	var id string
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Card{}, ErrTokenInvalid // unknown, replaced or expired
	case err != nil:
		return Card{}, err
	default:
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return Card{}, fmt.Errorf("giftcard: corrupt token: %w", err)
		}
		id = v.ID
	}
	out, err := s.update(ctx, id, func(r *record) ([]store.Op, error) {
		if r.TokenHash != h {
			return nil, ErrTokenInvalid // replaced by a later send
		}
		if err := statusErr(r.Status); err != nil {
			return nil, err // claimed (also by this user) or taken back
		}
		if r.Buyer == openid {
			return nil, ErrOwnCard
		}
		now := s.now()
		if r.TokenExpiresAt == nil || !now.Before(*r.TokenExpiresAt) {
			return nil, ErrTokenInvalid
		}
		credit, err := s.o.Wallet.CreditOps(openid, 0, r.Amount, wallet.KindGiftCard, r.ID)
		if err != nil {
			return nil, err
		}
		// The token record stays until it expires (the card's status makes
		// it one-time), so that a late claimer learns the card was claimed
		// (409) rather than that the link is unknown.
		r.Status, r.Claimer, r.ClaimedAt = Claimed, openid, &now
		ops := []store.Op{store.Put(store.Item{Key: userKey(openid, r.ID), Value: roleValue(RoleClaimer)}).IfAbsent()}
		return append(ops, credit...), nil
	})
	if err != nil {
		return Card{}, err
	}
	return out.view(RoleClaimer), nil
}

// Revoke takes back openid's unclaimed card: its value goes to the buyer's
// wallet as principal (the buyer paid it in cash), in one Write with the
// card's change to revoked, and its token stops working. Returns
// ErrNotFound, ErrNotPaid, ErrClaimed, ErrRevoked, ErrBusy, store errors.
func (s *Service) Revoke(ctx context.Context, openid, id string) (Card, error) {
	out, err := s.update(ctx, id, func(r *record) ([]store.Op, error) {
		if r.Buyer != openid {
			return nil, ErrNotFound
		}
		if err := statusErr(r.Status); err != nil {
			return nil, err
		}
		credit, err := s.o.Wallet.CreditOps(openid, r.Amount, 0, wallet.KindGiftCardRevoked, r.ID)
		if err != nil {
			return nil, err
		}
		// The token record stays until it expires: a claim then answers
		// giftcard_revoked (the card's status refuses it).
		now := s.now()
		r.Status, r.RevokedAt = Revoked, &now
		return credit, nil
	})
	if err != nil {
		return Card{}, err
	}
	return out.view(RoleBuyer), nil
}

// Expire closes every pending card whose payment is past the TTL, oldest
// first: at WeChat Pay first (a card WeChat Pay says is paid is recorded
// paid instead), then here. It returns how many this run closed; errors on
// single cards are joined and do not stop it.
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
			r, _, err := s.load(ctx, it.SK)
			switch {
			case errors.Is(err, ErrNotFound):
				errs = append(errs, s.st.Write(ctx, store.Delete(pendingKey(it.SK))))
				continue
			case err != nil:
				errs = append(errs, err)
				continue
			case r.CreatedAt.Add(s.o.TTL).After(now):
				return n, errors.Join(errs...) // ids are time-ordered: the rest is younger
			}
			closed, err := s.expireOne(ctx, r)
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

func (s *Service) expireOne(ctx context.Context, r record) (bool, error) {
	if r.Status != Pending {
		return false, s.st.Write(ctx, store.Delete(pendingKey(r.ID)))
	}
	err := s.o.Pay.Close(ctx, r.ID)
	switch {
	case err == nil, errors.Is(err, pay.ErrOrderClosed), errors.Is(err, pay.ErrOrderNotFound):
	case errors.Is(err, pay.ErrOrderPaid):
		tx, err := s.o.Pay.Query(ctx, r.ID)
		if err != nil {
			return false, err
		}
		_, err = s.HandlePayment(ctx, tx)
		return false, err
	default:
		return false, err
	}
	out, err := s.update(context.WithoutCancel(ctx), r.ID, func(n *record) ([]store.Op, error) {
		if n.Status != Pending {
			return nil, errNoChange
		}
		now := s.now()
		n.Status, n.ClosedAt = Closed, &now
		return []store.Op{store.Delete(pendingKey(n.ID))}, nil
	})
	return err == nil && out.Status == Closed, err
}

// Sale is a card as the merchant sees it: the card with its buyer and
// claimer.
type Sale struct {
	Card
	Buyer   string `json:"buyer"`
	Claimer string `json:"claimer,omitempty"`
}

// ErrBadStatus is returned by ListAll for a status filter that is not one
// of the statuses.
var ErrBadStatus = apperr.New(apperr.Invalid, "invalid_request",
	`query parameter "status" must be pending, paid, sent, claimed, revoked or closed`)

// ListAll returns every user's cards (the merchant's sales), newest first,
// in status if not empty, after the cursor, and the next cursor. It reads
// the giftcard#all index, or the status's index (kept in the same Write as
// each status change), never a scan of the cards. Returns ErrBadStatus,
// store errors.
func (s *Service) ListAll(ctx context.Context, status, after string, limit int) ([]Sale, string, error) {
	pk := allPK
	switch status {
	case "":
	case Pending, Paid, Sent, Claimed, Revoked, Closed:
		pk = "giftcard#st#" + status
	default:
		return nil, "", ErrBadStatus
	}
	if after != "" && !validID(after) {
		return nil, "", apperr.Invalidf(`query parameter "after" is not a cursor from this list`)
	}
	items, next, err := s.st.Query(ctx, pk, store.Query{After: after, Desc: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Sale, 0, len(items))
	for _, it := range items {
		r, _, err := s.load(ctx, it.SK)
		if err != nil {
			return nil, "", err
		}
		out = append(out, Sale{Card: r.Card, Buyer: r.Buyer, Claimer: r.Claimer})
	}
	return out, next, nil
}
