package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// Order shipping information management (发货信息管理): in a Mini-Program
// whose payments are "trade managed", WeChat keeps the money frozen until
// the merchant uploads how each payment was shipped.
// https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html

// Logistics types of upload_shipping_info (logistics_type).
const (
	LogisticsExpress  = 1 // 实体物流配送: an express company carries it
	LogisticsSameCity = 2 // 同城配送
	LogisticsVirtual  = 3 // 虚拟商品: nothing is carried
	LogisticsPickup   = 4 // 用户自提
)

// Shipping is one upload_shipping_info, in unified delivery mode (one
// shipping_list entry for the whole payment).
type Shipping struct {
	TransactionID  string    // order_key with order_number_type 2
	PayerOpenID    string    // payer.openid
	LogisticsType  int       // Logistics…
	ItemDesc       string    // required, at most 120 characters
	TrackingNo     string    // express only
	ExpressCompany string    // express only: a delivery_id of get_delivery_list ("SF", "ZTO", …)
	Contact        string    // masked receiver phone, last 4 digits kept; SF needs one
	UploadTime     time.Time // must be newer than any earlier upload of the payment
}

// Errors of the shipping APIs (see the errcode table on each API's page).
var (
	// ErrShippingNotYet is returned when WeChat does not know the payment
	// yet (10060001 "支付单不存在"): for about a minute after paying this is
	// normal; retry later.
	ErrShippingNotYet = apperr.New(apperr.Upstream, "shipping_not_yet",
		"WeChat does not know this payment yet; retry in a minute")
	// ErrShippingDone is returned when the payment was already shipped
	// (10060002) or the upload changes nothing (10060023): the upload is done.
	ErrShippingDone = apperr.New(apperr.Conflict, "shipping_done", "the payment's shipping is already recorded")
	// ErrShippingFinal is returned when WeChat will never take shipping for
	// the payment: it is refunded or closed (10060004), its one re-shipment
	// is used (10060003), or it is not this payer's (10060031).
	ErrShippingFinal = apperr.New(apperr.Conflict, "shipping_refused",
		"WeChat will not take shipping information for this payment")
	// ErrShippingInvalid is returned when WeChat refuses the upload's fields
	// (10060008 item_desc, 268485216 upload_time, 268485226/7 tracking_no or
	// express_company, 268485228 shipping_list size, 47001 format).
	ErrShippingInvalid = apperr.New(apperr.Upstream, "shipping_invalid",
		"WeChat refused the shipping information's fields")
	// ErrShippingOff is returned when the Mini-Program has not opened the
	// shipping management service (48001).
	ErrShippingOff = apperr.New(apperr.Upstream, "shipping_service_off",
		"the shipping information service is not enabled for this Mini-Program")
	// ErrConfirmRefused is returned by NotifyConfirmReceive when the
	// reminder does not apply: not shipped (10060028), bad time (10060029),
	// already sent (10060030), not an express payment (10060032).
	ErrConfirmRefused = apperr.New(apperr.Conflict, "confirm_receive_refused",
		"WeChat refused the receipt reminder for this payment")
)

var shippingErrs = map[int]*apperr.Error{
	10060001:  ErrShippingNotYet,
	10060002:  ErrShippingDone,
	10060023:  ErrShippingDone,
	10060003:  ErrShippingFinal,
	10060004:  ErrShippingFinal,
	10060031:  ErrShippingFinal,
	10060008:  ErrShippingInvalid,
	268485216: ErrShippingInvalid,
	268485226: ErrShippingInvalid,
	268485227: ErrShippingInvalid,
	268485228: ErrShippingInvalid,
	47001:     ErrShippingInvalid,
	48001:     ErrShippingOff,
	// -1 (busy), 10060012 and 10060019 ("system error, retry") stay
	// ErrUnavailable / ErrWeChat: retried.
	10060012: ErrUnavailable,
	10060019: ErrUnavailable,
}

var confirmErrs = map[int]*apperr.Error{
	10060028: ErrConfirmRefused, 10060029: ErrConfirmRefused,
	10060030: ErrConfirmRefused, 10060032: ErrConfirmRefused,
	10060001: ErrShippingNotYet, 48001: ErrShippingOff,
}

// uploadTimeLayout is RFC 3339 with milliseconds and the offset, as the
// doc's example "2022-12-15T13:29:35.120+08:00".
const uploadTimeLayout = "2006-01-02T15:04:05.000Z07:00"

var beijing = time.FixedZone("CST", 8*3600)

// UploadShippingInfo uploads how a payment was shipped (POST
// /wxa/sec/order/upload_shipping_info), keyed by its transaction_id, in
// unified delivery mode.
// https://developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/api_uploadshippinginfo.html
// Returns ErrShippingNotYet, ErrShippingDone, ErrShippingFinal,
// ErrShippingInvalid, ErrShippingOff, ErrUnavailable, ErrWeChat.
func (c *Client) UploadShippingInfo(ctx context.Context, s Shipping) error {
	if s.TransactionID == "" || s.PayerOpenID == "" || s.ItemDesc == "" {
		return apperr.Invalidf("a shipping upload needs transaction_id, payer and item_desc")
	}
	type contact struct {
		Receiver string `json:"receiver_contact,omitempty"`
	}
	type entry struct {
		TrackingNo     string   `json:"tracking_no,omitempty"`
		ExpressCompany string   `json:"express_company,omitempty"`
		ItemDesc       string   `json:"item_desc"`
		Contact        *contact `json:"contact,omitempty"`
	}
	e := entry{TrackingNo: s.TrackingNo, ExpressCompany: s.ExpressCompany, ItemDesc: s.ItemDesc}
	if s.Contact != "" {
		e.Contact = &contact{Receiver: s.Contact}
	}
	at := s.UploadTime
	if at.IsZero() {
		at = c.now()
	}
	body := map[string]any{
		"order_key":      map[string]any{"order_number_type": 2, "transaction_id": s.TransactionID},
		"logistics_type": s.LogisticsType,
		"delivery_mode":  1,          // UNIFIED_DELIVERY, sent as the number the API takes
		"shipping_list":  []entry{e}, // always an array: an object answers 47001
		"upload_time":    at.In(beijing).Format(uploadTimeLayout),
		"payer":          map[string]string{"openid": s.PayerOpenID},
	}
	return remap(c.postJSON(ctx, "/wxa/sec/order/upload_shipping_info", body, nil), shippingErrs)
}

// NotifyConfirmReceive reminds the buyer to confirm receipt of an express
// payment the carrier delivered at received (POST
// /wxa/sec/order/notify_confirm_receive; once per payment).
// https://developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/api_notifyconfirmreceive.html
// Returns ErrConfirmRefused, ErrShippingNotYet, ErrShippingOff, ErrUnavailable, ErrWeChat.
func (c *Client) NotifyConfirmReceive(ctx context.Context, transactionID string, received time.Time) error {
	body := map[string]any{"transaction_id": transactionID, "received_time": received.Unix()} // seconds
	return remap(c.postJSON(ctx, "/wxa/sec/order/notify_confirm_receive", body, nil), confirmErrs)
}

// ShippingOrder is what get_order says of a payment.
type ShippingOrder struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"merchant_trade_no"`
	OpenID        string `json:"openid"`
	PayTime       int64  `json:"pay_time"`
	// OrderState: 1 to ship, 2 shipped, 3 received, 4 done, 5 refunded, 6 awaiting settlement.
	OrderState int `json:"order_state"`
	Shipping   struct {
		LogisticsType  int  `json:"logistics_type"`
		FinishShipping bool `json:"finish_shipping"`
	} `json:"shipping"`
}

// GetShippingOrder reads a payment's shipping state (POST
// /wxa/sec/order/get_order with transaction_id).
// https://developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/api_getorder.html
func (c *Client) GetShippingOrder(ctx context.Context, transactionID string) (ShippingOrder, error) {
	var out struct {
		Order ShippingOrder `json:"order"`
	}
	err := c.postJSON(ctx, "/wxa/sec/order/get_order", map[string]string{"transaction_id": transactionID}, &out)
	return out.Order, remap(err, shippingErrs)
}

// ManagedTTL is how long the answer of is_trade_managed is cached: a
// Mini-Program enters trade management once, by WeChat's decision, and a
// day's delay in noticing it only delays uploads the timer then makes.
const ManagedTTL = 24 * time.Hour

// managedPK caches is_trade_managed fleet-wide, one item per appid.
const managedPK = "wechat#trade-managed"

type managedJSON struct {
	Managed bool      `json:"managed"`
	At      time.Time `json:"at"`
}

// IsTradeManaged reports whether the app's payments are under shipping
// management (POST /wxa/sec/order/is_trade_managed {appid}), asked once per
// ManagedTTL for the whole fleet: the answer is kept in the store.
// https://developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/api_istrademanaged.html
func (c *Client) IsTradeManaged(ctx context.Context) (bool, error) {
	if c.store == nil {
		return false, ErrNotConfigured
	}
	key := store.Key{PK: managedPK, SK: c.appID}
	it, err := c.store.Get(ctx, key)
	if err == nil {
		var v managedJSON
		if json.Unmarshal(it.Value, &v) == nil && c.now().Sub(v.At) < ManagedTTL {
			return v.Managed, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	var out struct {
		Managed bool `json:"is_trade_managed"`
	}
	if err := c.postJSON(ctx, "/wxa/sec/order/is_trade_managed", map[string]string{"appid": c.appID}, &out); err != nil {
		return false, remap(err, shippingErrs)
	}
	now := c.now()
	b, _ := json.Marshal(managedJSON{Managed: out.Managed, At: now})
	// A lost race only means two instances asked: either answer is right.
	_ = c.store.Write(ctx, store.Put(store.Item{Key: key, Value: b, ExpiresAt: now.Add(2 * ManagedTTL)}))
	return out.Managed, nil
}
