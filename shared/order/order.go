package order

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
)

// Status is where an order is in its life.
type Status string

// The states. pending → paid → refunding → refunded (or back to paid after a
// partial or failed refund); pending → cancelled (user) or closed (expired, or
// the prepay failed); cancelled/closed → refunding when a payment arrives for
// an order already given up (the automatic refund), then refunded, or back
// to cancelled/closed if that refund fails (never paid).
const (
	Pending   Status = "pending"
	Paid      Status = "paid"
	Cancelled Status = "cancelled"
	Closed    Status = "closed"
	Refunding Status = "refunding"
	Refunded  Status = "refunded"
)

// Close reasons.
const (
	ReasonExpired      = "expired"       // unpaid after the TTL
	ReasonPrepayFailed = "prepay_failed" // WeChat Pay refused or failed the prepay
)

// Limits of one order.
const (
	MaxQuantity = 99  // per SKU
	MaxLines    = 20  // distinct SKUs
	MaxNote     = 200 // characters (runes) of the buyer's note
)

// Item is one line of an order, priced from the catalog when it was created.
type Item struct {
	SKU      string `json:"sku"`
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
	Price    int64  `json:"price"` // unit price, fen
}

// Refund is one refund of an order.
type Refund struct {
	OutRefundNo string     `json:"out_refund_no"`
	Amount      int64      `json:"amount"`            // fen, in all
	Balance     int64      `json:"balance,omitempty"` // of Amount, what goes back to the wallet (the rest: WeChat Pay)
	Reason      string     `json:"reason,omitempty"`
	Status      string     `json:"status"`         // see RefundStatus…
	Auto        bool       `json:"auto,omitempty"` // the refund of a payment that arrived after cancel/close
	RefundID    string     `json:"refund_id,omitempty"`
	Error       string     `json:"error,omitempty"` // WeChat Pay's code when it refused the request (NOT_ENOUGH, …)
	CreatedAt   time.Time  `json:"created_at"`
	DoneAt      *time.Time `json:"done_at,omitempty"`
}

// Refund statuses. A refund is open while submitting or processing; at most
// one refund of an order is open at a time.
const (
	RefundSubmitting = "submitting" // written locally; WeChat Pay has not confirmed it yet
	RefundProcessing = "processing" // WeChat Pay accepted it
	RefundSuccess    = "success"
	RefundClosed     = "closed"   // REFUND.CLOSED
	RefundAbnormal   = "abnormal" // REFUND.ABNORMAL: to be handled on the merchant platform
	RefundFailed     = "failed"   // WeChat Pay refused the request
)

// Attention values: why an order needs the merchant. Only a payment that
// arrived after cancel/close and could not be refunded automatically sets
// one; it is cleared when the refund succeeds.
const (
	// AttentionRefundFailed: the automatic refund was refused or closed;
	// the refund sweep retries it (see SweepRefunds).
	AttentionRefundFailed = "refund_failed"
	// AttentionRefundAbnormal: the automatic refund went ABNORMAL (the
	// payer's card was cancelled or frozen). It is not retried: handle it on
	// the merchant platform.
	AttentionRefundAbnormal = "refund_abnormal"
)

// Order is what the API shows.
type Order struct {
	ID            string     `json:"id"`
	Status        Status     `json:"status"`
	Items         []Item     `json:"items"`
	Subtotal      int64      `json:"subtotal"`
	Discount      int64      `json:"discount"`
	Total         int64      `json:"total"`
	CouponID      string     `json:"coupon_id,omitempty"`
	OutTradeNo    string     `json:"out_trade_no"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"` // time_expire sent to WeChat Pay
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	TransactionID string     `json:"transaction_id,omitempty"`
	CancelledAt   *time.Time `json:"cancelled_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	CloseReason   string     `json:"close_reason,omitempty"`
	// PaidByBalance is what the wallet paid ("use_balance"); PayTotal, set
	// with it, what WeChat Pay is asked for: Total - PaidByBalance (0 when
	// the balance paid it all). Both absent for an order paid by WeChat
	// Pay alone.
	PaidByBalance int64     `json:"paid_by_balance,omitempty"`
	PayTotal      *int64    `json:"pay_total,omitempty"`
	Refunded      int64     `json:"refunded,omitempty"` // fen refunded so far, to both sources
	Refunds       []Refund  `json:"refunds,omitempty"`
	Attention     string    `json:"attention,omitempty"` // see Attention…; "" when all is well
	UpdatedAt     time.Time `json:"updated_at"`
	// Scene and Referrer: where this order came from (attribution, package scene).
	Scene    string `json:"scene,omitempty"`
	Referrer string `json:"referrer,omitempty"`
	// Note is the buyer's note, stored after WeChat's content check
	// (msgSecCheck) did not find it risky. NoteReview flags it for the
	// merchant: NoteCheck says why ("review": WeChat suggested a look;
	// "unchecked": WeChat could not check it).
	Note       string `json:"note,omitempty"`
	NoteReview bool   `json:"note_review,omitempty"`
	NoteCheck  string `json:"note_check,omitempty"`
	// Address is where an express order goes; Shipping its upload to
	// WeChat's shipping management (nil when shipping is off).
	Address  *Address  `json:"address,omitempty"`
	Shipping *Shipping `json:"shipping,omitempty"`

	// MemberDiscount is what the caller's membership tier (TierID) took off
	// the subtotal, before the coupon's Discount (Total = Subtotal -
	// MemberDiscount - Discount); PointsMultiplier is what it multiplies
	// the order's points by. Recorded at create: a later tier change does
	// not alter the order. All absent without a tier (docs/members.md).
	MemberDiscount   int64  `json:"member_discount,omitempty"`
	TierID           string `json:"tier_id,omitempty"`
	PointsMultiplier int64  `json:"points_multiplier,omitempty"`
	// TableProgress: a paid table order's place in its store's queue (queue.go).
	TableProgress

	// StoreID is the physical store the order belongs to (package outlet):
	// a scan-and-go order (Fulfillment FulfillScanAndGo) or a table order
	// (Table set). Absent for an order of the online shop.
	StoreID     string `json:"store_id,omitempty"`
	Fulfillment string `json:"fulfillment,omitempty"` // "" (the shop's own shipping) or FulfillScanAndGo
	Table       string `json:"table,omitempty"`       // the table of a table order, as its code's scene named it
	// ExitedAt and ExitedBy: when a scan-and-go order was let out of the
	// store, and by whom (the staff member's openid, or "admin"), at the
	// first verify of its exit pass (exitpass.go). ExitedBy is the admin's
	// and the door's to see: the owner's view leaves it out (ownerView).
	ExitedAt *time.Time `json:"exited_at,omitempty"`
	ExitedBy string     `json:"exited_by,omitempty"`
}

// ownerView is the order as its owner is shown it (Get, List, Create):
// without ExitedBy, which is another user's openid, the staff member's.
func ownerView(o Order) Order {
	o.ExitedBy = ""
	return o
}

// Order-level fulfillments ("fulfillment" at POST /orders). Products'
// fulfillments (virtual, pickup, express: shipping.go) say how an online
// order reaches its buyer; these say the order was made in a store.
const (
	// FulfillScanAndGo: the shopper scanned the items in the store and
	// leaves with them once paid, showing an exit pass at the door.
	FulfillScanAndGo = "scan_and_go"
)

// MaxTable is the length limit of a table name ("12", "A3", "patio-2").
const MaxTable = 16

// openRefund returns the refund in flight, if any.
func (o *Order) openRefund() *Refund {
	for i := range o.Refunds {
		if s := o.Refunds[i].Status; s == RefundSubmitting || s == RefundProcessing {
			return &o.Refunds[i]
		}
	}
	return nil
}

// givenUp is the state a cancelled or closed order was in before a late
// payment moved it to refunding: an order is cancelled by its user, closed
// otherwise.
func (o *Order) givenUp() Status {
	if o.CancelledAt != nil {
		return Cancelled
	}
	return Closed
}

// autoRetry returns the automatic refund the sweep should try again: the
// last refund of a given-up order whose money is still here, when it was
// refused or closed. Abnormal refunds are the merchant's (see
// AttentionRefundAbnormal).
func (o *Order) autoRetry() *Refund {
	if (o.Status != Cancelled && o.Status != Closed) || o.TransactionID == "" || o.Refunded >= o.payTotal() || len(o.Refunds) == 0 {
		return nil
	}
	r := &o.Refunds[len(o.Refunds)-1]
	if !r.Auto || (r.Status != RefundFailed && r.Status != RefundClosed) {
		return nil
	}
	return r
}

// payTotal is what WeChat Pay takes: the total less what the balance paid.
func (o *Order) payTotal() int64 { return o.Total - o.PaidByBalance }

// cashRefunded is what went back through WeChat Pay so far.
func (o *Order) cashRefunded() int64 {
	var n int64
	for _, r := range o.Refunds {
		if r.Status == RefundSuccess {
			n += r.Amount - r.Balance
		}
	}
	return n
}

// refundable is what may still be refunded.
func (o *Order) refundable() int64 {
	var open int64
	if r := o.openRefund(); r != nil {
		open = r.Amount
	}
	return o.Total - o.Refunded - open
}

// record is the stored order: the view plus what only the server needs.
type record struct {
	Order
	Owner    string   `json:"owner"`
	PrepayID string   `json:"prepay_id,omitempty"`
	Reserved []string `json:"reserved,omitempty"` // SKUs whose stock this order holds
	Coupon   bool     `json:"coupon_locked,omitempty"`
	// PassCode is the scan-and-go order's current exit pass (exitpass.go):
	// server-only, since the API shows Order.
	PassCode string `json:"exit_pass,omitempty"`
}

// LineRequest is one line of a create request.
type LineRequest struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity" want:"an integer 1 to 99"` // MaxQuantity
}

// CreateRequest is what a client may say about a new order. Prices are not
// part of it: they come from the catalog only.
type CreateRequest struct {
	Items    []LineRequest `json:"items"`
	CouponID string        `json:"coupon_id,omitempty"`
	Scene    string        `json:"scene,omitempty"`    // the Mini-Program code scene the order came from
	Referrer string        `json:"referrer,omitempty"` // the openid that shared it
	Note     string        `json:"note,omitempty"`     // the buyer's note, at most MaxNote characters
	Address  *Address      `json:"address,omitempty"`  // required when an item ships by express
	// UseBalance pays with the wallet what it can, WeChat Pay the rest.
	UseBalance bool `json:"use_balance,omitempty"`
	// StoreID, Fulfillment and Table place the order in a store: scan-and-go
	// ("fulfillment":"scan_and_go") or at a table ("table"). Both need
	// "store_id"; they exclude each other.
	StoreID     string `json:"store_id,omitempty"`
	Fulfillment string `json:"fulfillment,omitempty"`
	Table       string `json:"table,omitempty"`
}

// Validate checks the request's shape.
func (r CreateRequest) Validate() error {
	if len(r.Items) == 0 {
		return apperr.Invalidf("field \"items\" must hold at least one item")
	}
	if len(r.Items) > MaxLines {
		return apperr.Invalidf("field \"items\" holds more than %d lines", MaxLines)
	}
	for i, l := range r.Items {
		if l.SKU == "" {
			return apperr.Invalidf("field \"items[%d].sku\" is required", i)
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return apperr.Invalidf("field \"items[%d].quantity\" must be an integer 1 to %d", i, MaxQuantity)
		}
	}
	if len(r.CouponID) > 128 {
		return apperr.Invalidf("field \"coupon_id\" is too long")
	}
	if len(r.Scene) > 32 || len(r.Referrer) > 64 {
		return apperr.Invalidf("field \"scene\" or \"referrer\" is too long")
	}
	if n := utf8.RuneCountInString(r.Note); n > MaxNote {
		return apperr.Invalidf("field \"note\" has %d characters; at most %d", n, MaxNote)
	}
	if strings.ContainsFunc(r.Note, func(c rune) bool { return unicode.IsControl(c) && c != '\n' }) {
		return apperr.Invalidf("field \"note\" holds a control character")
	}
	if err := r.validateStore(); err != nil {
		return err
	}
	if r.Address != nil {
		return r.Address.Validate()
	}
	return nil
}

// validateStore checks the fields that place an order in a store.
func (r CreateRequest) validateStore() error {
	switch r.Fulfillment {
	case "", FulfillScanAndGo:
	default:
		return apperr.Invalidf("field \"fulfillment\" must be %q or absent", FulfillScanAndGo)
	}
	if len(r.StoreID) > 64 {
		return apperr.Invalidf("field \"store_id\" is too long")
	}
	if r.Table != "" && (utf8.RuneCountInString(r.Table) > MaxTable || strings.ContainsFunc(r.Table, unicode.IsControl)) {
		return apperr.Invalidf("field \"table\" must be 1 to %d characters, without control characters", MaxTable)
	}
	switch {
	case r.StoreID == "" && r.Fulfillment != "":
		return apperr.Invalidf("field \"store_id\" is required with \"fulfillment\":%q", r.Fulfillment)
	case r.StoreID == "" && r.Table != "":
		return apperr.Invalidf("field \"store_id\" is required with \"table\"")
	case r.Table != "" && r.Fulfillment != "":
		return apperr.Invalidf("fields \"table\" and \"fulfillment\" exclude each other: a table order is served at the table")
	case r.StoreID != "" && r.Table == "" && r.Fulfillment == "":
		return apperr.Invalidf("field \"store_id\" needs \"fulfillment\":%q or a \"table\"", FulfillScanAndGo)
	case r.StoreID != "" && r.Address != nil:
		return apperr.Invalidf("field \"address\" is for delivered orders, not orders made in a store")
	}
	return nil
}

// lines merges lines of the same SKU (one store key gets one op) and keeps
// the first-seen order.
func (r CreateRequest) lines() ([]LineRequest, error) {
	var out []LineRequest
	at := map[string]int{}
	for _, l := range r.Items {
		if i, ok := at[l.SKU]; ok {
			out[i].Quantity += l.Quantity
			if out[i].Quantity > MaxQuantity {
				return nil, apperr.Invalidf("sku %q is ordered more than %d times", l.SKU, MaxQuantity)
			}
			continue
		}
		at[l.SKU] = len(out)
		out = append(out, l)
	}
	return out, nil
}

// newID returns a new order id, also used as out_trade_no: 12 hex digits of
// the creation time in milliseconds, then 16 random hex digits. Ids sort by
// creation time, which the owner's list (newest first) and the pending
// collection (oldest first) rely on.
func newID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// validID reports whether id can be an order id (cheap check before a read).
func validID(id string) bool { return ident.Valid(id, 6, 32, "_-|*") } // WeChat Pay's out_trade_no rule
