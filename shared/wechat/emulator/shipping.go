package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"
)

// Order shipping information management (发货信息管理), after the official
// pages under https://developers.weixin.qq.com/miniprogram/dev/server/API/order_shipping/
// (upload_shipping_info, is_trade_managed, notify_confirm_receive,
// get_order) and the service guide
// https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html.
//
// State per payment (transaction_id): order_state 1 to ship → 2 shipped
// (upload) → 3 received / 4 done (settled; SettleShipping) — 5 when the
// payment was refunded. An upload may be changed once (a re-shipment);
// a third different upload answers 10060003, an identical one 10060023.
//
// Errors answered (HTTP 200, errcode): 10060001 unknown payment, or paid
// less than Options.ShippingAfter ago; 10060002 already received or settled;
// 10060003 re-shipment used; 10060004 refunded in full or closed; 10060008
// item_desc empty; 10060031 payer is not the payment's; 268485216
// upload_time not RFC 3339 (or not newer than the last upload: the doc
// requires it, without naming the errcode); 268485226 tracking_no missing
// (express); 268485227 express_company missing (express); 268485228 unified
// delivery with other than one entry; 47001 malformed body, shipping_list
// not an array, delivery_mode not a number, item_desc over 120 characters,
// or an SF entry without a masked contact (emulator choices: the doc names
// no errcode for these); 48001 the app's shipping service is off
// (SetShippingService).
//
// Pushes (Options.OnPush), with the fields of the official event pages as
// Senparc's RequestMessageEvent_TradeManage* carry them:
// trade_manage_order_settlement at the first upload (shipped_time,
// estimated_settlement_time) and again at SettleShipping (with
// confirm_receive_method, confirm_receive_time, settlement_time);
// trade_manage_remind_shipping by RemindShipping.

// Payment is a paid transaction as the shipping APIs need it (see
// Options.Payments); the Pay emulator's Payment has these fields.
type Payment struct {
	AppID, MchID, OutTradeNo, TransactionID, OpenID string
	State                                           string // SUCCESS, REFUND, CLOSED…
	PaidAt                                          time.Time
	Total, Refunded                                 int64
}

// Shipment is the emulator's record of one payment's shipping.
type Shipment struct {
	AppID         string          `json:"appid"`
	TransactionID string          `json:"transaction_id"`
	MchID         string          `json:"merchant_id,omitempty"`
	OutTradeNo    string          `json:"merchant_trade_no,omitempty"`
	OpenID        string          `json:"openid"`
	PayTime       time.Time       `json:"pay_time"`
	OrderState    int             `json:"order_state"`
	LogisticsType int             `json:"logistics_type"`
	DeliveryMode  int             `json:"delivery_mode"`
	ShippingList  []ShipmentEntry `json:"shipping_list"`
	UploadTime    string          `json:"upload_time"`
	Uploads       int             `json:"uploads"`
	ShippedAt     time.Time       `json:"shipped_at"`
	ConfirmSentAt *time.Time      `json:"confirm_sent_at,omitempty"`
	ReceivedTime  int64           `json:"received_time,omitempty"`
	SettledAt     *time.Time      `json:"settled_at,omitempty"`
}

// ShipmentEntry is one shipping_list entry as uploaded.
type ShipmentEntry struct {
	TrackingNo     string `json:"tracking_no,omitempty"`
	ExpressCompany string `json:"express_company,omitempty"`
	ItemDesc       string `json:"item_desc"`
	Contact        *struct {
		Consignor string `json:"consignor_contact,omitempty"`
		Receiver  string `json:"receiver_contact,omitempty"`
	} `json:"contact,omitempty"`
}

type shippingState struct {
	mu        sync.Mutex
	payments  func(transactionID, mchid, outTradeNo string) (Payment, bool)
	after     time.Duration
	onPush    func(map[string]any)
	shipments map[string]*Shipment // by transaction_id
	unmanaged map[string]bool      // appid → is_trade_managed false
	off       map[string]bool      // appid → service off (48001)
	seq       int
}

func newShippingState(o Options) shippingState {
	return shippingState{payments: o.Payments, after: o.ShippingAfter, onPush: o.OnPush,
		shipments: map[string]*Shipment{}, unmanaged: map[string]bool{}, off: map[string]bool{}}
}

// SetOnPush sets where the shipping pushes go (nil: dropped).
func (e *Emulator) SetOnPush(f func(msg map[string]any)) {
	e.ship.mu.Lock()
	defer e.ship.mu.Unlock()
	e.ship.onPush = f
}

// SetTradeManaged sets what is_trade_managed answers for appid (true by default).
func (e *Emulator) SetTradeManaged(appid string, managed bool) {
	defer e.changed() // the state file, if any
	e.ship.mu.Lock()
	defer e.ship.mu.Unlock()
	e.ship.unmanaged[appid] = !managed
}

// SetShippingService turns appid's shipping service on or off (off: 48001).
func (e *Emulator) SetShippingService(appid string, on bool) {
	defer e.changed() // the state file, if any
	e.ship.mu.Lock()
	defer e.ship.mu.Unlock()
	e.ship.off[appid] = !on
}

// ShipmentOf returns the shipping recorded for a payment.
func (e *Emulator) ShipmentOf(transactionID string) (Shipment, bool) {
	e.ship.mu.Lock()
	defer e.ship.mu.Unlock()
	s, ok := e.ship.shipments[transactionID]
	if !ok {
		return Shipment{}, false
	}
	out := *s
	out.ShippingList = append([]ShipmentEntry(nil), s.ShippingList...)
	return out, true
}

// shipPush hands one event to OnPush, outside the lock; without OnPush it
// goes out as a message push (SetPush: `minifn dev` sends it to its own
// /wx/push), in the background as WeChat sends pushes, and is dropped when
// no push is configured.
func (e *Emulator) shipPush(msg map[string]any) {
	e.ship.mu.Lock()
	f := e.ship.onPush
	e.ship.mu.Unlock()
	if f != nil {
		f(msg)
		return
	}
	go e.Push(context.Background(), msg)
}

// event builds a push message of appid: the JSON data format's envelope.
func (e *Emulator) event(appid, name string, at time.Time, fields map[string]any) map[string]any {
	msg := map[string]any{
		"ToUserName": "gh_" + mac("minifn-emulator-gh", appid)[:12], "FromUserName": "o" + mac(appid, "weixin")[:27],
		"CreateTime": at.Unix(), "MsgType": "event", "Event": name,
	}
	for k, v := range fields {
		msg[k] = v
	}
	return msg
}

// orderKey is upload_shipping_info's order_key.
type orderKey struct {
	Type          int    `json:"order_number_type"`
	TransactionID string `json:"transaction_id"`
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
}

// maskedPhone: masked, the last 4 digits in clear (the doc's rule for contact).
var maskedPhone = regexp.MustCompile(`^[0-9+]*\*+[0-9]{4}$`)

// payment resolves the payment an order key names; ok false means 10060001.
func (st *shippingState) payment(appid, txid, mchid, no string) (Payment, bool) {
	if st.payments == nil {
		if txid == "" {
			txid = mchid + "/" + no
		}
		return Payment{AppID: appid, TransactionID: txid, MchID: mchid, OutTradeNo: no, State: "SUCCESS"}, true
	}
	p, ok := st.payments(txid, mchid, no)
	if !ok || (p.AppID != "" && p.AppID != appid) {
		return Payment{}, false
	}
	return p, true
}

// uploadShipping emulates POST /wxa/sec/order/upload_shipping_info.
func (e *Emulator) uploadShipping(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002, "require POST method")
		return
	}
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		OrderKey      orderKey        `json:"order_key"`
		LogisticsType json.RawMessage `json:"logistics_type"`
		DeliveryMode  json.RawMessage `json:"delivery_mode"`
		AllDelivered  *bool           `json:"is_all_delivered"`
		ShippingList  json.RawMessage `json:"shipping_list"`
		UploadTime    string          `json:"upload_time"`
		Payer         struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	var logistics, mode int
	var list []ShipmentEntry
	if json.Unmarshal(req.LogisticsType, &logistics) != nil || json.Unmarshal(req.DeliveryMode, &mode) != nil ||
		!bytes.HasPrefix(bytes.TrimSpace(req.ShippingList), []byte("[")) || json.Unmarshal(req.ShippingList, &list) != nil ||
		logistics < 1 || logistics > 4 || mode < 1 || mode > 2 || req.Payer.OpenID == "" {
		e.writeErr(w, 47001, "data format error")
		return
	}
	switch {
	case mode == 1 && len(list) != 1:
		e.writeErr(w, 268485228, "unified delivery mode takes exactly one shipping_list entry")
		return
	case len(list) < 1 || len(list) > 15, mode == 2 && req.AllDelivered == nil:
		e.writeErr(w, 47001, "data format error")
		return
	}
	for _, it := range list {
		switch {
		case it.ItemDesc == "":
			e.writeErr(w, 10060008, "item_desc is empty")
			return
		case utf8.RuneCountInString(it.ItemDesc) > 120:
			e.writeErr(w, 47001, "data format error: item_desc over 120 characters")
			return
		case logistics == 1 && it.TrackingNo == "":
			e.writeErr(w, 268485226, "tracking_no is required for express")
			return
		case logistics == 1 && it.ExpressCompany == "":
			e.writeErr(w, 268485227, "express_company is required for express")
			return
		case logistics == 1 && it.ExpressCompany == "SF" && (it.Contact == nil ||
			!maskedPhone.MatchString(it.Contact.Receiver+it.Contact.Consignor)):
			e.writeErr(w, 47001, "data format error: SF needs a masked contact")
			return
		}
	}
	at, err := time.Parse(time.RFC3339Nano, req.UploadTime)
	if err != nil {
		e.writeErr(w, 268485216, "upload_time is not RFC 3339")
		return
	}
	st := &e.ship
	st.mu.Lock()
	if st.off[appid] {
		st.mu.Unlock()
		e.writeErr(w, 48001, "api unauthorized")
		return
	}
	k := req.OrderKey
	if (k.Type == 2 && k.TransactionID == "") || (k.Type == 1 && (k.MchID == "" || k.OutTradeNo == "")) || k.Type < 1 || k.Type > 2 {
		st.mu.Unlock()
		e.writeErr(w, 47001, "data format error: order_key")
		return
	}
	if k.Type == 1 {
		k.TransactionID = ""
	}
	p, known := st.payment(appid, k.TransactionID, k.MchID, k.OutTradeNo)
	now := e.now()
	switch {
	case !known || (st.payments != nil && now.Sub(p.PaidAt) < st.after):
		st.mu.Unlock()
		e.writeErr(w, 10060001, "支付单不存在")
		return
	case p.State == "CLOSED" || (p.Total > 0 && p.Refunded >= p.Total):
		st.mu.Unlock()
		e.writeErr(w, 10060004, "支付单不处于可发货状态")
		return
	case p.OpenID != "" && p.OpenID != req.Payer.OpenID:
		st.mu.Unlock()
		e.writeErr(w, 10060031, "支付单不属于该用户")
		return
	}
	s := st.shipments[p.TransactionID]
	if s == nil {
		s = &Shipment{AppID: appid, TransactionID: p.TransactionID, MchID: p.MchID, OutTradeNo: p.OutTradeNo,
			OpenID: req.Payer.OpenID, PayTime: p.PaidAt, OrderState: 1}
		st.shipments[p.TransactionID] = s
	}
	listJSON, _ := json.Marshal(list)
	var prevList []byte
	if s.Uploads > 0 {
		prevList, _ = json.Marshal(s.ShippingList)
	}
	switch {
	case s.OrderState >= 3 && s.OrderState != 6:
		st.mu.Unlock()
		e.writeErr(w, 10060002, "订单已发货")
		return
	case s.Uploads > 0 && s.LogisticsType == logistics && s.DeliveryMode == mode && bytes.Equal(prevList, listJSON):
		st.mu.Unlock()
		e.writeErr(w, 10060023, "发货信息未更新")
		return
	case s.Uploads >= 2:
		st.mu.Unlock()
		e.writeErr(w, 10060003, "支付单已完成发货，无法继续发货")
		return
	}
	if s.Uploads > 0 {
		if prev, err := time.Parse(time.RFC3339Nano, s.UploadTime); err == nil && !at.After(prev) {
			st.mu.Unlock()
			e.writeErr(w, 268485216, "upload_time must be newer than the last upload")
			return
		}
	}
	first := s.Uploads == 0
	s.Uploads++
	s.LogisticsType, s.DeliveryMode, s.ShippingList, s.UploadTime = logistics, mode, list, req.UploadTime
	s.OrderState, s.ShippedAt = 2, now
	ev := e.settlementEvent(s, now, false)
	st.mu.Unlock()
	writeJSON(w, jsonType, map[string]any{"errcode": 0, "errmsg": "ok"})
	if first {
		e.shipPush(ev)
	}
}

// estimatedSettlement: T+10 days after shipping for express, T+2 otherwise
// (the service guide's automatic confirmation periods).
func estimatedSettlement(s *Shipment) time.Time {
	if s.LogisticsType == 1 {
		return s.ShippedAt.Add(10 * 24 * time.Hour)
	}
	return s.ShippedAt.Add(2 * 24 * time.Hour)
}

// settlementEvent is trade_manage_order_settlement for s; settled adds the
// fields only sent at settlement. Call with the lock held.
func (e *Emulator) settlementEvent(s *Shipment, now time.Time, settled bool) map[string]any {
	f := map[string]any{
		"transaction_id": s.TransactionID, "merchant_id": s.MchID, "sub_merchant_id": "",
		"merchant_trade_no": s.OutTradeNo, "pay_time": s.PayTime.Unix(), "shipped_time": s.ShippedAt.Unix(),
		"estimated_settlement_time": estimatedSettlement(s).Unix(),
	}
	if settled {
		method := 1
		if s.ReceivedTime != 0 || s.OrderState == 3 {
			method = 2
		}
		f["confirm_receive_method"] = method
		f["confirm_receive_time"] = now.Unix()
		f["settlement_time"] = now.Unix()
	}
	return e.event(s.AppID, "trade_manage_order_settlement", now, f)
}

// SettleShipping is the developer action "the buyer confirmed receipt (or
// the period ran out) and the funds settled": the shipped payment goes to
// order_state 4 and trade_manage_order_settlement is pushed with its
// confirm fields; manual says the buyer confirmed (method 2), else auto (1).
func (e *Emulator) SettleShipping(transactionID string, manual bool) error {
	defer e.changed() // the state file, if any
	st := &e.ship
	st.mu.Lock()
	s := st.shipments[transactionID]
	if s == nil || s.OrderState < 2 || s.OrderState == 5 {
		st.mu.Unlock()
		return &controlError{http.StatusConflict, "not_shipped", "that payment has no shipping to settle"}
	}
	if s.OrderState == 4 {
		st.mu.Unlock()
		return &controlError{http.StatusConflict, "already_settled", "that payment is settled"}
	}
	now := e.now()
	if manual {
		s.OrderState = 3
	}
	ev := e.settlementEvent(s, now, true)
	s.OrderState, s.SettledAt = 4, &now
	st.mu.Unlock()
	e.shipPush(ev)
	return nil
}

// RemindShipping pushes trade_manage_remind_shipping for a payment not
// shipped yet (WeChat sends it when a payment waits unshipped).
func (e *Emulator) RemindShipping(appid string, p Payment) {
	defer e.changed() // the state file, if any
	e.shipPush(e.event(appid, "trade_manage_remind_shipping", e.now(), map[string]any{
		"transaction_id": p.TransactionID, "merchant_id": p.MchID, "sub_merchant_id": "",
		"merchant_trade_no": p.OutTradeNo, "pay_time": p.PaidAt.Unix(),
		"msg": "你有一笔订单尚未发货，请尽快发货",
	}))
}

// isTradeManaged emulates POST /wxa/sec/order/is_trade_managed {appid}.
func (e *Emulator) isTradeManaged(w http.ResponseWriter, r *http.Request) {
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		AppID string `json:"appid"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	if req.AppID != appid {
		e.writeErr(w, 40013, "invalid appid")
		return
	}
	e.ship.mu.Lock()
	managed := !e.ship.unmanaged[appid]
	e.ship.mu.Unlock()
	writeJSON(w, jsonType, map[string]any{"errcode": 0, "errmsg": "ok", "is_trade_managed": managed})
}

// lookup finds the shipment a get_order or notify_confirm_receive names.
func (st *shippingState) lookup(appid, txid, mchid, no string) *Shipment {
	if txid != "" {
		if s := st.shipments[txid]; s != nil && s.AppID == appid {
			return s
		}
		return nil
	}
	for _, s := range st.shipments {
		if s.AppID == appid && s.MchID == mchid && s.OutTradeNo == no && no != "" {
			return s
		}
	}
	return nil
}

// notifyConfirmReceive emulates POST /wxa/sec/order/notify_confirm_receive.
func (e *Emulator) notifyConfirmReceive(w http.ResponseWriter, r *http.Request) {
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		TransactionID string          `json:"transaction_id"`
		MchID         string          `json:"merchant_id"`
		TradeNo       string          `json:"merchant_trade_no"`
		Received      json.RawMessage `json:"received_time"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	var received int64
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(req.Received, &received) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	st := &e.ship
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.lookup(appid, req.TransactionID, req.MchID, req.TradeNo)
	now := e.now()
	switch {
	case s == nil || s.OrderState < 2:
		e.writeErr(w, 10060028, "订单未发货")
	case s.LogisticsType != 1:
		e.writeErr(w, 10060032, "非物流快递订单")
	case received < s.ShippedAt.Unix() || received > now.Unix():
		e.writeErr(w, 10060029, "签收时间不合理")
	case s.ConfirmSentAt != nil:
		e.writeErr(w, 10060030, "已发送过确认收货提醒")
	default:
		s.ConfirmSentAt, s.ReceivedTime = &now, received
		writeJSON(w, jsonType, map[string]any{"errcode": 0, "errmsg": "ok"})
	}
}

// getShippingOrder emulates POST /wxa/sec/order/get_order.
func (e *Emulator) getShippingOrder(w http.ResponseWriter, r *http.Request) {
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		TransactionID string `json:"transaction_id"`
		MchID         string `json:"merchant_id"`
		TradeNo       string `json:"merchant_trade_no"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	st := &e.ship
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.lookup(appid, req.TransactionID, req.MchID, req.TradeNo)
	if s == nil {
		p, known := st.payment(appid, req.TransactionID, req.MchID, req.TradeNo)
		if !known || st.payments == nil {
			e.writeErr(w, 10060001, "支付单不存在")
			return
		}
		s = &Shipment{AppID: appid, TransactionID: p.TransactionID, MchID: p.MchID, OutTradeNo: p.OutTradeNo,
			OpenID: p.OpenID, PayTime: p.PaidAt, OrderState: 1}
	}
	writeJSON(w, jsonType, map[string]any{"errcode": 0, "errmsg": "ok", "order": map[string]any{
		"transaction_id": s.TransactionID, "merchant_id": s.MchID, "merchant_trade_no": s.OutTradeNo,
		"openid": s.OpenID, "pay_time": s.PayTime.Unix(), "order_state": s.OrderState,
		"in_complaint": false,
		"shipping": map[string]any{"delivery_mode": s.DeliveryMode, "logistics_type": s.LogisticsType,
			"finish_shipping": s.OrderState >= 2, "shipping_list": s.ShippingList},
	}})
}

// shippingControlRoutes registers the shipping control API:
//
//	GET  /_emulator/shipping/{transaction_id}          → the Shipment, 404 if none
//	POST /_emulator/shipping/{transaction_id}/settle   {"manual"?:true} → 204; pushes the settlement
//	POST /_emulator/shipping/{transaction_id}/remind   → 204; pushes trade_manage_remind_shipping
//	POST /_emulator/shipping/managed {"appid"?,"managed":false} → 204: what is_trade_managed answers
func (e *Emulator) shippingControlRoutes(mux *http.ServeMux) {
	mux.Handle("GET /_emulator/shipping/{tx}", control(func(w http.ResponseWriter, r *http.Request) error {
		s, ok := e.ShipmentOf(r.PathValue("tx"))
		if !ok {
			return &controlError{http.StatusNotFound, "not_found", "no shipping for that transaction"}
		}
		writeControl(w, http.StatusOK, s)
		return nil
	}))
	mux.Handle("POST /_emulator/shipping/{tx}/settle", control(func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Manual bool `json:"manual"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				return err
			}
		}
		if err := e.SettleShipping(r.PathValue("tx"), req.Manual); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	mux.Handle("POST /_emulator/shipping/{tx}/remind", control(func(w http.ResponseWriter, r *http.Request) error {
		tx := r.PathValue("tx")
		e.ship.mu.Lock()
		s := e.ship.shipments[tx]
		var p Payment
		var known bool
		if s == nil && e.ship.payments != nil {
			p, known = e.ship.payments(tx, "", "")
		}
		e.ship.mu.Unlock()
		switch {
		case s != nil:
			return &controlError{http.StatusConflict, "already_shipped", "that payment is shipped"}
		case !known:
			return &controlError{http.StatusNotFound, "not_found", "no such payment"}
		}
		e.RemindShipping(p.AppID, p)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	mux.Handle("POST /_emulator/shipping/managed", control(func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			AppID   string `json:"appid"`
			Managed *bool  `json:"managed"`
		}
		if err := decode(r, &req); err != nil {
			return err
		}
		if req.Managed == nil {
			return invalid("managed is required")
		}
		appid, err := e.defaultApp(req.AppID)
		if err != nil {
			return err
		}
		e.SetTradeManaged(appid, *req.Managed)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
}
