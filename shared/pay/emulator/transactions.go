package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"
)

var outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)

// order is a JSAPI transaction.
type order struct {
	MchID, AppID, OutTradeNo, Description, NotifyURL, Attach, OpenID, Currency string
	Total                                                                      int64
	TimeExpire                                                                 string // as sent; "" for WeChat's 7-day default
	expiresAt, createdAt, successTime                                          time.Time
	PrepayID, TransactionID, State                                             string
	refunded                                                                   int64 // sum of refunds not CLOSED/ABNORMAL
}

// sameParams reports whether a repeated prepay carries o's parameters.
func (o *order) sameParams(p *order) bool {
	return o.AppID == p.AppID && o.Description == p.Description && o.NotifyURL == p.NotifyURL &&
		o.Attach == p.Attach && o.OpenID == p.OpenID && o.Currency == p.Currency &&
		o.Total == p.Total && o.TimeExpire == p.TimeExpire
}

var stateDesc = map[string]string{
	"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "订单发生过退款",
}

// transactionJSON is the documented transaction object (query answer and
// TRANSACTION.* notify resource).
type transactionJSON struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	OutTradeNo     string `json:"out_trade_no"`
	TransactionID  string `json:"transaction_id,omitempty"`
	TradeType      string `json:"trade_type,omitempty"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc"`
	BankType       string `json:"bank_type,omitempty"`
	Attach         string `json:"attach,omitempty"`
	SuccessTime    string `json:"success_time,omitempty"`
	Payer          struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	Amount struct {
		Total         int64  `json:"total"`
		PayerTotal    *int64 `json:"payer_total,omitempty"`
		Currency      string `json:"currency"`
		PayerCurrency string `json:"payer_currency,omitempty"`
	} `json:"amount"`
}

func (o *order) json() transactionJSON {
	t := transactionJSON{AppID: o.AppID, MchID: o.MchID, OutTradeNo: o.OutTradeNo, TradeState: o.State,
		TradeStateDesc: stateDesc[o.State], Attach: o.Attach}
	t.Payer.OpenID = o.OpenID
	t.Amount.Total, t.Amount.Currency = o.Total, o.Currency
	if o.TransactionID != "" {
		total := o.Total
		t.TransactionID, t.TradeType, t.BankType = o.TransactionID, "JSAPI", "OTHERS"
		t.SuccessTime = fmtTime(o.successTime)
		t.Amount.PayerTotal, t.Amount.PayerCurrency = &total, o.Currency
	}
	return t
}

type prepayBody struct {
	AppID       *string `json:"appid"`
	MchID       *string `json:"mchid"`
	Description *string `json:"description"`
	OutTradeNo  *string `json:"out_trade_no"`
	TimeExpire  *string `json:"time_expire"`
	Attach      *string `json:"attach"`
	NotifyURL   *string `json:"notify_url"`
	Amount      *struct {
		Total    *int64  `json:"total"`
		Currency *string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID *string `json:"openid"`
	} `json:"payer"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkNotifyURL applies the documented rule (HTTPS, no query, ≤255) plus the
// emulator's exception for http:// loopback hosts.
func checkNotifyURL(field, s string) *apiError {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return paramError(field, "is required")
	case len(s) > 255 || err != nil || u.Host == "":
		return paramError(field, "must be an absolute URL of at most 255 bytes")
	case u.RawQuery != "" || u.Fragment != "":
		return paramError(field, "must not carry a query string")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil // the emulator's dev exception, see the package doc
	}
	return paramError(field, "must be HTTPS")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validatePrepay returns the order a prepay body describes.
func (e *Emulator) validatePrepay(c call) (*order, *apiError) {
	var b prepayBody
	if err := json.Unmarshal(c.body, &b); err != nil {
		return nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: "+err.Error())
	}
	now := e.now()
	o := &order{MchID: str(b.MchID), AppID: str(b.AppID), OutTradeNo: str(b.OutTradeNo), Description: str(b.Description),
		NotifyURL: str(b.NotifyURL), Attach: str(b.Attach), TimeExpire: str(b.TimeExpire), Currency: "CNY",
		State: "NOTPAY", createdAt: now, expiresAt: now.Add(7 * 24 * time.Hour)}
	switch {
	case o.AppID == "" || len(o.AppID) > 32:
		return nil, paramError("appid", "is required (at most 32 bytes)")
	case o.MchID == "":
		return nil, paramError("mchid", "is required")
	case o.MchID != c.mchid:
		return nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "mchid 与请求签名中的商户号不一致")
	case len(c.m.AppIDs) > 0 && !slices.Contains(c.m.AppIDs, o.AppID):
		return nil, errorf(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	case o.Description == "" || len(o.Description) > 127:
		return nil, paramError("description", "must be 1-127 bytes")
	case !outTradeNoRE.MatchString(o.OutTradeNo):
		return nil, paramError("out_trade_no", "must be 6-32 characters of [0-9A-Za-z_-|*]")
	case len(o.Attach) > 128:
		return nil, paramError("attach", "must be at most 128 bytes")
	case b.Amount == nil || b.Amount.Total == nil:
		return nil, paramError("amount.total", "is required")
	case *b.Amount.Total < 1:
		return nil, paramError("amount.total", "must be at least 1")
	case b.Amount.Currency != nil && *b.Amount.Currency != "CNY":
		return nil, paramError("amount.currency", "must be CNY")
	case b.Payer == nil || str(b.Payer.OpenID) == "" || len(*b.Payer.OpenID) > 128:
		return nil, paramError("payer.openid", "is required")
	}
	if err := checkNotifyURL("notify_url", o.NotifyURL); err != nil {
		return nil, err
	}
	o.Total, o.OpenID = *b.Amount.Total, *b.Payer.OpenID
	if o.TimeExpire != "" {
		t, err := time.Parse(time.RFC3339, o.TimeExpire)
		switch {
		case err != nil:
			return nil, paramError("time_expire", "must be RFC 3339 (yyyy-MM-DDTHH:mm:ss+TIMEZONE)")
		case t.Before(now.Add(time.Minute)):
			// Raised to a minute, not refused: WeChat Pay's answer in its
			// developer community (WECHAT-PROTOCOLS.md §1.6). TimeExpire
			// keeps what was sent, for the duplicate-prepay comparison.
			t = now.Add(time.Minute)
		}
		o.expiresAt = t
	}
	return o, nil
}

func (e *Emulator) prepay(c call) (int, any) {
	o, aerr := e.validatePrepay(c)
	if aerr != nil {
		return 0, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := tradeKey{o.MchID, o.OutTradeNo}
	if old, ok := e.orders[k]; ok {
		switch {
		case old.State == "SUCCESS" || old.State == "REFUND":
			return 0, errorf(http.StatusBadRequest, "ORDERPAID", "该订单已支付")
		case old.State == "CLOSED":
			return 0, errorf(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
		case !old.sameParams(o):
			return 0, errorf(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复")
		}
		return http.StatusOK, map[string]string{"prepay_id": old.PrepayID}
	}
	o.PrepayID = fmt.Sprintf("wx%s%020d", o.createdAt.In(beijing).Format("02150405"), e.nextSeq())
	e.orders[k] = o
	return http.StatusOK, map[string]string{"prepay_id": o.PrepayID}
}

func (e *Emulator) queryByOutTradeNo(c call) (int, any) {
	if aerr := checkMchIDQuery(c); aerr != nil {
		return 0, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[tradeKey{c.mchid, c.r.PathValue("no")}]
	if !ok {
		return 0, errorf(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	return http.StatusOK, o.json()
}

func (e *Emulator) queryByID(c call) (int, any) {
	if aerr := checkMchIDQuery(c); aerr != nil {
		return 0, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.byTxID[c.r.PathValue("id")]
	if !ok || o.MchID != c.mchid {
		return 0, errorf(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	return http.StatusOK, o.json()
}

func checkMchIDQuery(c call) *apiError {
	switch q := c.r.URL.Query().Get("mchid"); {
	case q == "":
		return &apiError{status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "缺少参数 mchid",
			Detail: &errorDetail{Field: "mchid", Location: "query", Issue: "is required"}}
	case q != c.mchid:
		return errorf(http.StatusBadRequest, "PARAM_ERROR", "mchid 与请求签名中的商户号不一致")
	}
	return nil
}

func (e *Emulator) close(c call) (int, any) {
	var b struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(c.body, &b); err != nil || b.MchID == "" {
		return 0, paramError("mchid", "is required")
	}
	if b.MchID != c.mchid {
		return 0, errorf(http.StatusBadRequest, "PARAM_ERROR", "mchid 与请求签名中的商户号不一致")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[tradeKey{c.mchid, c.r.PathValue("no")}]
	switch {
	case !ok:
		return 0, errorf(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	case o.State == "SUCCESS" || o.State == "REFUND":
		return 0, errorf(http.StatusBadRequest, "ORDERPAID", "订单已支付")
	}
	o.State = "CLOSED"
	return http.StatusNoContent, nil
}

// Pay is the developer action "the user pays now": the unpaid transaction
// outTradeNo becomes SUCCESS and a TRANSACTION.SUCCESS notify is sent to its
// notify_url (in the background, with retries; ctx does not bound them, Close
// does). Returns ErrNotFound, ErrAmbiguous (several merchants used the
// number: use POST /_emulator/pay/{no}?mchid=), ErrClosed, ErrExpired or
// ErrAlreadyPaid.
func (e *Emulator) Pay(ctx context.Context, outTradeNo string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := e.pay("", outTradeNo)
	return err
}

func (e *Emulator) pay(mchid, outTradeNo string) (transactionJSON, error) {
	defer e.changed() // the state file, if any
	e.mu.Lock()
	defer e.mu.Unlock()
	var o *order
	for k, v := range e.orders {
		if k.no == outTradeNo && (mchid == "" || k.mchid == mchid) {
			if o != nil {
				return transactionJSON{}, ErrAmbiguous
			}
			o = v
		}
	}
	now := e.now()
	switch {
	case o == nil:
		return transactionJSON{}, ErrNotFound
	case o.State == "CLOSED":
		return transactionJSON{}, ErrClosed
	case o.State != "NOTPAY":
		return transactionJSON{}, ErrAlreadyPaid
	case now.After(o.expiresAt):
		return transactionJSON{}, ErrExpired
	}
	o.State, o.successTime = "SUCCESS", now
	o.TransactionID = fmt.Sprintf("4200%s%016d", now.In(beijing).Format("20060102"), e.nextSeq())
	e.byTxID[o.TransactionID] = o
	t := o.json()
	e.enqueueLocked(o.MchID, o.NotifyURL, "TRANSACTION.SUCCESS", t, o.OutTradeNo, "")
	return t, nil
}

// Payment is what the emulator knows of a paid transaction, for other
// emulators that depend on it (the WeChat emulator's shipping APIs).
type Payment struct {
	AppID, MchID, OutTradeNo, TransactionID, OpenID string
	State                                           string // SUCCESS, REFUND, …
	PaidAt                                          time.Time
	Total, Refunded                                 int64 // fen; Refunded counts refunds not closed or abnormal
}

// Payment returns the paid transaction transactionID, or, with an empty
// transactionID, the one of mchid and outTradeNo; ok is false when there
// is none (or it is not paid).
func (e *Emulator) Payment(transactionID, mchid, outTradeNo string) (Payment, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.byTxID[transactionID]
	if transactionID == "" {
		o = e.orders[tradeKey{mchid, outTradeNo}]
	}
	if o == nil || o.TransactionID == "" {
		return Payment{}, false
	}
	return Payment{AppID: o.AppID, MchID: o.MchID, OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID,
		OpenID: o.OpenID, State: o.State, PaidAt: o.successTime, Total: o.Total, Refunded: o.refunded}, true
}
