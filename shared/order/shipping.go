package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// Shipping information (WeChat's order shipping management, 发货信息管理):
// a managed Mini-Program's payments stay frozen until their shipping is
// uploaded. Every paid order is uploaded by its transaction_id:
//
//   - virtual and pickup orders at once when paid (best effort: a failure
//     leaves shipping pending, and the order-expire timer retries it; WeChat
//     answers 10060001 for about a minute after a payment);
//   - express orders when the merchant ships them (Ship), with the tracking
//     number.
//
// An order waiting for an upload has an entry in order#shipping, which
// SweepShipping reads, so the timer never scans the orders. Settlement and
// reminders arrive as pushes (HandleShippingEvent).
// https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html

// Shipping modes (MINIFN_SHIPPING_MODE): the fulfillment of products that
// name none, or ShippingOff for no uploads at all.
const (
	ShippingVirtual = product.FulfillVirtual
	ShippingPickup  = product.FulfillPickup
	ShippingExpress = product.FulfillExpress
	ShippingOff     = "off"
)

// Shipping statuses (Shipping.Status).
const (
	// ShipPending: not uploaded yet: an express order the merchant has not
	// shipped, or an upload WeChat has not taken yet (Error says why; the
	// timer retries it).
	ShipPending = "pending"
	// ShipUploaded: WeChat has the shipping; the funds settle after the
	// buyer confirms receipt (or the period runs out).
	ShipUploaded = "uploaded"
	// ShipFailed: WeChat refused the upload for good (the payment was
	// refunded or closed: 10060004, …), or it kept failing for
	// MaxShippingAttempts runs; not retried. Error says why.
	ShipFailed = "failed"
	// ShipConfirmed: the buyer confirmed receipt (or it was confirmed
	// automatically) and the funds settled.
	ShipConfirmed = "confirmed"
	// ShipSkipped: the Mini-Program is not under trade management
	// (is_trade_managed false): nothing needs uploading.
	ShipSkipped = "skipped"
)

// MaxShippingAttempts bounds the retries of an upload WeChat keeps
// refusing for a passing reason (10060001 for days means the payment never
// entered shipping management, e.g. a developer-tool payment).
const MaxShippingAttempts = 200

// Shipping is an order's shipping as the API shows it.
type Shipping struct {
	Type           string     `json:"type"`   // virtual, pickup or express
	Status         string     `json:"status"` // see Ship…
	ExpressCompany string     `json:"express_company,omitempty"`
	TrackingNo     string     `json:"tracking_no,omitempty"`
	ShippedAt      *time.Time `json:"shipped_at,omitempty"` // the merchant shipped it (express)
	UploadedAt     *time.Time `json:"uploaded_at,omitempty"`
	Attempts       int        `json:"attempts,omitempty"` // uploads tried
	Error          string     `json:"error,omitempty"`    // the last refusal (code: message)
	// From WeChat's pushes (HandleShippingEvent).
	EstimatedSettlementAt *time.Time `json:"estimated_settlement_at,omitempty"`
	ConfirmedAt           *time.Time `json:"confirmed_at,omitempty"`
	ConfirmMethod         string     `json:"confirm_method,omitempty"` // auto or manual
	SettledAt             *time.Time `json:"settled_at,omitempty"`
	RemindedAt            *time.Time `json:"reminded_at,omitempty"` // the last "ship it" reminder
}

// Address is where an express order goes, as wx.chooseAddress gives it
// (userName, telNumber, provinceName+cityName+countyName, detailInfo).
type Address struct {
	Name   string `json:"name"`
	Phone  string `json:"phone"`
	Region string `json:"region"`
	Detail string `json:"detail"`
}

// Validate checks an address's fields.
func (a Address) Validate() error {
	switch {
	case a.Name == "" || utf8.RuneCountInString(a.Name) > 50:
		return apperr.Invalidf("field \"address.name\" must be 1 to 50 characters")
	case !validPhone(a.Phone):
		return apperr.Invalidf("field \"address.phone\" must be 5 to 20 digits (with + - or spaces)")
	case a.Region == "" || utf8.RuneCountInString(a.Region) > 100:
		return apperr.Invalidf("field \"address.region\" must be 1 to 100 characters")
	case a.Detail == "" || utf8.RuneCountInString(a.Detail) > 200:
		return apperr.Invalidf("field \"address.detail\" must be 1 to 200 characters")
	}
	return nil
}

func validPhone(p string) bool {
	digits := 0
	for _, c := range p {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' || c == '-' || c == ' ':
		default:
			return false
		}
	}
	return digits >= 5 && len(p) <= 20
}

// MaskPhone masks a phone for WeChat's contact field: the last 4 digits
// stay, the 3 first stay on a phone of 11 digits or more, the rest is '*'
// (the upload page: "采用掩码传输，最后4位数字不能打掩码"; e.g. 138****5678).
func MaskPhone(p string) string {
	var d []byte
	for i := 0; i < len(p); i++ {
		if p[i] >= '0' && p[i] <= '9' {
			d = append(d, p[i])
		}
	}
	if len(d) <= 4 {
		return string(d)
	}
	keep := 0
	if len(d) >= 11 {
		keep = 3
	}
	return string(d[:keep]) + strings.Repeat("*", len(d)-4-keep) + string(d[len(d)-4:])
}

// Shipper is the WeChat side of shipping; *wechat.Client implements it.
type Shipper interface {
	UploadShippingInfo(ctx context.Context, s wechat.Shipping) error
	IsTradeManaged(ctx context.Context) (bool, error)
	NotifyConfirmReceive(ctx context.Context, transactionID string, received time.Time) error
}

var _ Shipper = (*wechat.Client)(nil)

// shippingOn reports whether orders get shipping at all.
func (s *Service) shippingOn() bool { return s.o.Shipper != nil && s.o.ShippingMode != ShippingOff }

// shippingFor decides a new order's shipping from its products'
// fulfillments: express if any item ships by express (one upload covers
// the payment, and the parcel carries it all), else pickup if any item is
// collected, else virtual. An express order needs the address.
//
// An order made in a store (storeID set: scan-and-go or a table) is
// self-pickup (logistics_type 4, 用户自提) whatever its products and
// MINIFN_SHIPPING_MODE say, "off" included: the shopper took the goods in
// the store, and a managed Mini-Program's payment stays frozen until some
// shipping is uploaded (an unmanaged one is recorded skipped, as always).
func (s *Service) shippingFor(storeID string, fulfillments []string, addr *Address) (*Shipping, error) {
	if storeID != "" {
		if s.o.Shipper == nil {
			return nil, nil
		}
		return &Shipping{Type: ShippingPickup, Status: ShipPending}, nil
	}
	if !s.shippingOn() {
		return nil, nil
	}
	mode := s.o.ShippingMode
	if mode == "" {
		mode = ShippingVirtual
	}
	typ := ShippingVirtual
	for _, f := range fulfillments {
		if f == "" {
			f = mode
		}
		switch {
		case f == ShippingExpress:
			typ = ShippingExpress
		case f == ShippingPickup && typ == ShippingVirtual:
			typ = ShippingPickup
		}
	}
	if typ == ShippingExpress && addr == nil {
		return nil, apperr.Invalidf("field \"address\" is required: the order ships by express")
	}
	return &Shipping{Type: typ, Status: ShipPending}, nil
}

// shippingPK is the collection of orders whose upload is due (not express
// orders waiting for the merchant): SweepShipping reads it.
const shippingPK = "order#shipping"

func shippingKey(id string) store.Key { return store.Key{PK: shippingPK, SK: id} }

// shippingOp puts the order's entry in order#shipping.
func shippingOp(r *record) store.Op {
	ix, _ := json.Marshal(tradeIndex{Owner: r.Owner, ID: r.ID})
	return store.Put(store.Item{Key: shippingKey(r.ID), Value: ix})
}

// uploadDue reports whether the order's shipping should be uploaded now.
func (o *Order) uploadDue() bool {
	sh := o.Shipping
	return sh != nil && sh.Status == ShipPending && o.TransactionID != "" &&
		(sh.Type != ShippingExpress || sh.TrackingNo != "")
}

// itemDesc is upload_shipping_info's item_desc: the titles and quantities,
// within the 120 characters WeChat allows.
func itemDesc(items []Item) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString("，")
		}
		fmt.Fprintf(&b, "%s*%d", it.Title, it.Quantity)
	}
	d := []rune(b.String())
	if len(d) > 120 {
		d = append(d[:119], '…')
	}
	return string(d)
}

var logisticsType = map[string]int{
	ShippingExpress: wechat.LogisticsExpress, ShippingVirtual: wechat.LogisticsVirtual, ShippingPickup: wechat.LogisticsPickup,
}

// uploadShipping uploads the order's shipping if it is due, and records
// the outcome (uploaded, skipped, failed, or pending with the error and its
// entry kept for the timer). done reports whether the order left pending.
func (s *Service) uploadShipping(ctx context.Context, cur record) (out record, done bool, err error) {
	if !cur.uploadDue() || s.o.Shipper == nil {
		return cur, false, nil
	}
	managed, err := s.o.Shipper.IsTradeManaged(ctx)
	var upErr error
	switch {
	case err != nil:
		upErr = err
	case !managed:
	default:
		sh := cur.Shipping
		w := wechat.Shipping{TransactionID: cur.TransactionID, PayerOpenID: cur.Owner,
			LogisticsType: logisticsType[sh.Type], ItemDesc: itemDesc(cur.Items), UploadTime: s.o.Now(),
			TrackingNo: sh.TrackingNo, ExpressCompany: sh.ExpressCompany}
		if sh.Type == ShippingExpress && sh.ExpressCompany == "SF" && cur.Address != nil {
			w.Contact = MaskPhone(cur.Address.Phone) // SF needs a contact; WeChat takes it masked
		}
		upErr = s.o.Shipper.UploadShippingInfo(ctx, w)
	}
	status := ShipPending
	switch {
	case err == nil && !managed:
		status = ShipSkipped
	case upErr == nil, errors.Is(upErr, wechat.ErrShippingDone):
		status, upErr = ShipUploaded, nil
	case errors.Is(upErr, wechat.ErrShippingFinal), errors.Is(upErr, wechat.ErrShippingInvalid):
		status = ShipFailed
	case cur.Shipping.Attempts+1 >= MaxShippingAttempts:
		status = ShipFailed
	}
	now := s.o.Now().UTC()
	out, _, werr := s.update(ctx, cur.Owner, cur.ID, func(r *record) ([]store.Op, error) {
		if !r.uploadDue() {
			// WeChat's settlement push can record the shipping before this
			// upload's answer is written (it follows the upload within
			// moments): the upload still happened, so it still counts.
			if status == ShipUploaded && r.Shipping != nil && r.Shipping.Attempts == cur.Shipping.Attempts &&
				(r.Shipping.Status == ShipUploaded || r.Shipping.Status == ShipConfirmed) {
				sh := *r.Shipping
				r.Shipping = &sh
				sh.Attempts++
				return nil, nil
			}
			return nil, errNoChange // another run recorded it meanwhile
		}
		sh := *r.Shipping
		r.Shipping = &sh
		sh.Status, sh.Error = status, ""
		if status != ShipSkipped {
			sh.Attempts++
		}
		if upErr != nil {
			sh.Error = shippingErrText(upErr)
		}
		if status == ShipUploaded {
			sh.UploadedAt = &now
		}
		if status == ShipPending {
			return nil, nil // the entry stays for the timer
		}
		return []store.Op{store.Delete(shippingKey(r.ID))}, nil
	})
	if werr != nil {
		return cur, false, werr
	}
	return out, status != ShipPending, upErr
}

// shippingErrText is what an order shows of an upload refusal.
func shippingErrText(err error) string {
	var ae *apperr.Error
	var we *wechat.APIError
	code := ""
	if errors.As(err, &we) {
		code = fmt.Sprintf("errcode %d", we.Errcode)
	}
	if errors.As(err, &ae) {
		if code == "" {
			return ae.Code
		}
		return ae.Code + " (" + code + ")"
	}
	return "error"
}

// shipBestEffort uploads a freshly paid order's shipping; a failure is
// recorded on the order (or left to the timer) and logged, never returned:
// it must not fail the payment notify.
func (s *Service) shipBestEffort(ctx context.Context, r record) record {
	if !r.uploadDue() {
		return r
	}
	out, _, err := s.uploadShipping(ctx, r)
	if err != nil {
		slog.WarnContext(ctx, "order: shipping upload not taken yet", "order", r.ID, "err", err)
	}
	return out
}

// SweepShipping retries the uploads that are due (order#shipping), on every
// run of the order-expire timer. It returns how many left pending.
func (s *Service) SweepShipping(ctx context.Context) (int, error) {
	if s.o.Shipper == nil {
		return 0, nil
	}
	return s.walk(ctx, shippingPK, SweepBatch, func(it store.Item) (bool, bool, error) {
		cur, ok, err := s.entryOrder(ctx, it)
		if !ok {
			return false, false, err
		}
		if !cur.uploadDue() {
			return false, false, s.st.Write(ctx, store.Delete(it.Key))
		}
		_, done, err := s.uploadShipping(ctx, cur.record)
		if err != nil {
			slog.InfoContext(ctx, "order: shipping upload retried, not taken yet", "order", cur.ID, "err", err)
		}
		return done, false, nil // a refusal is recorded on the order: not a sweep error
	})
}

// ShipRequest is POST /orders/{id}/ship.
type ShipRequest struct {
	ExpressCompany string `json:"express_company"` // WeChat's delivery_id (get_delivery_list): SF, ZTO, YTO, …
	TrackingNo     string `json:"tracking_no"`
}

// Validate checks the request's shape.
func (q ShipRequest) Validate() error {
	ok := func(s string, max int) bool {
		if s == "" || len(s) > max {
			return false
		}
		for _, c := range s {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
				return false
			}
		}
		return true
	}
	switch {
	case !ok(q.ExpressCompany, 32):
		return apperr.Invalidf("field \"express_company\" must be a delivery_id of 1 to 32 letters, digits, - or _ (SF, ZTO, …)")
	case !ok(q.TrackingNo, 128):
		return apperr.Invalidf("field \"tracking_no\" must be 1 to 128 letters, digits, - or _")
	}
	return nil
}

// Errors of shipping.
var (
	// ErrNotShippable is returned when shipping an order that is not paid
	// or does not ship by express.
	ErrNotShippable = apperr.New(apperr.Conflict, "not_shippable", "only a paid order that ships by express can be shipped")
	// ErrAlreadyShipped is returned when shipping an order already shipped
	// with another tracking number.
	ErrAlreadyShipped = apperr.New(apperr.Conflict, "already_shipped", "the order is already shipped")
)

// IdemShip names Ship in Idempotency-Key records.
const IdemShip = "order-ship"

// Ship records that the merchant shipped the express order id and uploads
// it to WeChat (best effort: a failure is left to the timer). Repeating
// the same request returns the order unchanged. Returns ErrNotFound,
// ErrNotShippable, ErrAlreadyShipped, invalid_request errors, and idem's.
func (s *Service) Ship(ctx context.Context, id string, req ShipRequest, idemKey string) (Order, error) {
	if err := req.Validate(); err != nil {
		return Order{}, err
	}
	ik, err := idem.New(IdemShip, "admin", idemKey, struct {
		ID string `json:"id"`
		ShipRequest
	}{id, req})
	if err != nil {
		return Order{}, err
	}
	if _, ok, err := ik.Lookup(ctx, s.st); err != nil {
		return Order{}, err
	} else if ok {
		cur, err := s.loadByTradeNo(ctx, id)
		return cur.Order, err
	}
	cur, err := s.loadByTradeNo(ctx, id)
	if err != nil {
		return Order{}, err
	}
	now := s.o.Now().UTC()
	out, changed, err := s.update(ctx, cur.Owner, cur.ID, func(r *record) ([]store.Op, error) {
		sh := r.Shipping
		switch {
		case sh == nil || sh.Type != ShippingExpress:
			return nil, ErrNotShippable.WithMessage("the order does not ship by express")
		case sh.TrackingNo == req.TrackingNo && sh.ExpressCompany == req.ExpressCompany:
			return nil, errNoChange // the same request again
		case sh.TrackingNo != "":
			return nil, ErrAlreadyShipped.WithMessage("the order was shipped with %s %s", sh.ExpressCompany, sh.TrackingNo)
		case r.Status != Paid:
			return nil, ErrNotShippable.WithMessage("the order is %s", r.Status)
		}
		n := *sh
		n.ExpressCompany, n.TrackingNo, n.ShippedAt, n.Status = req.ExpressCompany, req.TrackingNo, &now, ShipPending
		r.Shipping = &n
		ops := []store.Op{shippingOp(r)}
		if !ik.IsZero() {
			ops = append(ops, ik.Op([]byte(`{}`), now))
		}
		return ops, nil
	})
	if errors.Is(err, errDuplicate) {
		out, _, err = s.afterDuplicate(ctx, cur.Owner, cur.ID)
	}
	if err != nil {
		return Order{}, err
	}
	if changed {
		out = s.shipBestEffort(ctx, out)
	}
	return out.Order, nil
}

// RemindReceipt asks WeChat to remind the buyer of the express order id to
// confirm receipt, delivered at received (notify_confirm_receive; once per
// order). Returns ErrNotFound, ErrNotShippable (not an uploaded express
// order), and wechat's ErrConfirmRefused, ErrUnavailable, ….
func (s *Service) RemindReceipt(ctx context.Context, id string, received time.Time) error {
	cur, err := s.loadByTradeNo(ctx, id)
	if err != nil {
		return err
	}
	if sh := cur.Shipping; sh == nil || sh.Type != ShippingExpress || sh.Status != ShipUploaded || s.o.Shipper == nil {
		return ErrNotShippable.WithMessage("only an uploaded express order can have its receipt reminded")
	}
	return s.o.Shipper.NotifyConfirmReceive(ctx, cur.TransactionID, received)
}

// Shipping push events (WeChat's message push, JSON format).
const (
	EventRemindAccessAPI = "trade_manage_remind_access_api"
	EventRemindShipping  = "trade_manage_remind_shipping"
	EventSettlement      = "trade_manage_order_settlement"
)

// shippingEvent holds the fields of the trade_manage_* pushes.
type shippingEvent struct {
	TransactionID           string `json:"transaction_id"`
	MerchantTradeNo         string `json:"merchant_trade_no"`
	Msg                     string `json:"msg"`
	ShippedTime             int64  `json:"shipped_time"`
	EstimatedSettlementTime int64  `json:"estimated_settlement_time"`
	ConfirmReceiveMethod    int    `json:"confirm_receive_method"` // 1 auto, 2 manual
	ConfirmReceiveTime      int64  `json:"confirm_receive_time"`
	SettlementTime          int64  `json:"settlement_time"`
}

func unixPtr(sec int64) *time.Time {
	if sec <= 0 {
		return nil
	}
	t := time.Unix(sec, 0).UTC()
	return &t
}

// ShippingEventHandlers returns the handlers of the shipping pushes, by
// event name, for the wx-push function: raw is the decrypted JSON message.
func (s *Service) ShippingEventHandlers() map[string]func(ctx context.Context, event string, raw []byte) error {
	return map[string]func(context.Context, string, []byte) error{
		EventRemindAccessAPI: s.HandleShippingEvent,
		EventRemindShipping:  s.HandleShippingEvent,
		EventSettlement:      s.HandleShippingEvent,
	}
}

// HandleShippingEvent records a trade_manage_* push on its order (found by
// merchant_trade_no, checked against transaction_id): settlement (at
// shipping: the estimated settlement time, and the order counts as
// uploaded even if the merchant entered it in WeChat's console; at
// settlement: confirmed_at, confirm_method, settled_at), or a reminder to
// ship (reminded_at). trade_manage_remind_access_api names no order: it is
// logged. A push for an order this shop does not know is ignored (nil),
// so that WeChat does not repeat it. Applying one twice changes nothing.
func (s *Service) HandleShippingEvent(ctx context.Context, event string, raw []byte) error {
	var ev shippingEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return apperr.Invalidf("the %s push is not JSON", event)
	}
	switch event {
	case EventRemindAccessAPI:
		slog.WarnContext(ctx, "order: WeChat asks to upload shipping information (trade_manage_remind_access_api)", "msg", ev.Msg)
		return nil
	case EventRemindShipping, EventSettlement:
	default:
		return apperr.Invalidf("event %q is not a shipping event", event)
	}
	cur, err := s.loadByTradeNo(ctx, ev.MerchantTradeNo)
	if errors.Is(err, ErrNotFound) {
		slog.WarnContext(ctx, "order: shipping push for an unknown order", "event", event, "merchant_trade_no", ev.MerchantTradeNo)
		return nil
	}
	if err != nil {
		return err
	}
	if cur.TransactionID == "" || cur.TransactionID != ev.TransactionID {
		slog.WarnContext(ctx, "order: shipping push does not match the order's payment", "event", event, "order", cur.ID)
		return nil
	}
	now := s.o.Now().UTC()
	_, _, err = s.update(ctx, cur.Owner, cur.ID, func(r *record) ([]store.Op, error) {
		var sh Shipping
		if r.Shipping != nil {
			sh = *r.Shipping
		}
		before := sh
		var ops []store.Op
		if event == EventRemindShipping {
			if sh.RemindedAt != nil && now.Sub(*sh.RemindedAt) < time.Minute {
				return nil, errNoChange // the same push again
			}
			sh.RemindedAt = &now
		} else {
			if t := unixPtr(ev.EstimatedSettlementTime); t != nil {
				sh.EstimatedSettlementAt = t
			}
			if sh.Status == ShipPending || sh.Status == ShipFailed || sh.Status == "" {
				// Shipped, as WeChat sees it (maybe entered in its console).
				sh.Status, sh.Error = ShipUploaded, ""
				if sh.UploadedAt == nil {
					sh.UploadedAt = unixPtr(ev.ShippedTime)
				}
				ops = append(ops, store.Delete(shippingKey(r.ID)))
			}
			if ev.SettlementTime > 0 {
				sh.Status, sh.SettledAt = ShipConfirmed, unixPtr(ev.SettlementTime)
				sh.ConfirmedAt = unixPtr(ev.ConfirmReceiveTime)
				sh.ConfirmMethod = map[int]string{1: "auto", 2: "manual"}[ev.ConfirmReceiveMethod]
			}
		}
		if sameShipping(before, sh) {
			return nil, errNoChange
		}
		r.Shipping = &sh
		return ops, nil
	})
	return err
}

func sameShipping(a, b Shipping) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
