package pay

import (
	"context"
	"strconv"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
)

// Trade states of a transaction (trade_state). USERPAYING, REVOKED and
// PAYERROR only occur in payment-code flows, never for JSAPI.
const (
	StateNotPay  = "NOTPAY"
	StateSuccess = "SUCCESS"
	StateRefund  = "REFUND" // paid, then (partly) refunded
	StateClosed  = "CLOSED"
)

// PrepayRequest is a JSAPI order for one payer. Amounts are fen.
type PrepayRequest struct {
	OutTradeNo  string    // 6–32 of [0-9A-Za-z_-|*], unique per merchant
	Description string    // ≤127 bytes, shown to the payer
	Total       int64     // fen, ≥1
	PayerOpenID string    // the payer's openid under AppID
	TimeExpire  time.Time // optional; WeChat Pay raises one under a minute ahead to a minute; its default is 7 days
	Attach      string    // optional, ≤128 bytes, echoed in query and notify
}

// Validate checks r against the documented limits, so that a bad order fails
// here (ErrRequestInvalid) rather than as a PARAM_ERROR from WeChat Pay. A
// time_expire under a minute ahead is not refused: WeChat Pay raises it to a
// minute (WECHAT-PROTOCOLS.md §1.6), and refusing it here would blame an
// order on WeChat Pay that WeChat Pay accepts.
func (r PrepayRequest) Validate(now time.Time) error {
	switch {
	case !ident.Valid(r.OutTradeNo, 6, 32, "_-|*") /* the documented alphabet and length */ :
		return ErrRequestInvalid.WithMessage("out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]")
	case r.Description == "" || len(r.Description) > 127:
		return ErrRequestInvalid.WithMessage("description must be 1-127 bytes")
	case r.Total < 1:
		return ErrRequestInvalid.WithMessage("total must be at least 1 fen")
	case r.PayerOpenID == "":
		return ErrRequestInvalid.WithMessage("payer openid is required")
	case len(r.Attach) > 128:
		return ErrRequestInvalid.WithMessage("attach must be at most 128 bytes")
	}
	return nil
}

// Prepay creates (or, for identical parameters, finds again) the JSAPI order
// and returns its prepay_id, valid for 2 hours. Returns ErrOutTradeNoUsed when
// the number was used with other parameters, ErrOrderClosed when that order
// was closed, ErrOrderPaid when it is paid.
func (c *Client) Prepay(ctx context.Context, r PrepayRequest) (string, error) {
	if err := r.Validate(c.cfg.Now()); err != nil {
		return "", err
	}
	req := jsapi.PrepayRequest{
		Appid:       core.String(c.cfg.AppID),
		Mchid:       core.String(c.cfg.MchID),
		Description: core.String(r.Description),
		OutTradeNo:  core.String(r.OutTradeNo),
		NotifyUrl:   core.String(c.cfg.NotifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(r.Total), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String(r.PayerOpenID)},
	}
	if r.Attach != "" {
		req.Attach = core.String(r.Attach)
	}
	if !r.TimeExpire.IsZero() {
		// Whole seconds in +08:00, the documented yyyy-MM-DDTHH:mm:ss+TIMEZONE.
		t := r.TimeExpire.Truncate(time.Second).In(beijing)
		req.TimeExpire = &t
	}
	resp, _, err := c.jsapi.Prepay(ctx, req)
	if err != nil {
		return "", fail("prepay", err, ErrOrderNotFound)
	}
	if resp.PrepayId == nil || *resp.PrepayId == "" {
		return "", ErrUnavailable.WithMessage("WeChat Pay prepay answered without prepay_id")
	}
	return *resp.PrepayId, nil
}

// Payment holds the parameters of wx.requestPayment (JSON names as the
// mini-program API spells them).
type Payment struct {
	TimeStamp string `json:"timeStamp"` // seconds
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`  // "prepay_id=…"
	SignType  string `json:"signType"` // "RSA"
	PaySign   string `json:"paySign"`
}

// PaymentParams signs the wx.requestPayment parameters for prepayID: paySign is
// SHA256withRSA over "appId\ntimeStamp\nnonceStr\npackage\n" with the merchant
// key, for the configured AppID (the appid used at prepay).
func (c *Client) PaymentParams(prepayID string) (Payment, error) {
	if prepayID == "" {
		return Payment{}, apperr.Invalidf("prepay_id is required")
	}
	p := Payment{
		TimeStamp: strconv.FormatInt(c.cfg.Now().Unix(), 10),
		NonceStr:  nonceStr(),
		Package:   "prepay_id=" + prepayID,
		SignType:  "RSA",
	}
	sig, err := c.sign(c.cfg.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n")
	if err != nil {
		return Payment{}, err
	}
	p.PaySign = sig
	return p, nil
}

// Transaction is WeChat Pay's view of an order (query answer and
// TRANSACTION.* notify resource), flattened. Amounts are fen.
type Transaction struct {
	AppID          string
	MchID          string
	OutTradeNo     string
	TransactionID  string // set once paid
	TradeType      string // JSAPI
	TradeState     string // State*
	TradeStateDesc string
	BankType       string
	Attach         string
	SuccessTime    time.Time // zero unless paid
	PayerOpenID    string
	Amount         Amount
}

// Amount is a transaction's amount; PayerTotal is what the payer paid after
// WeChat-side discounts (0 until paid).
type Amount struct {
	Total         int64
	PayerTotal    int64
	Currency      string
	PayerCurrency string
}

// Paid reports whether the payer paid: SUCCESS, or REFUND (paid, then refunded).
func (t Transaction) Paid() bool { return t.TradeState == StateSuccess || t.TradeState == StateRefund }

// Query returns the order with outTradeNo (ErrOrderNotFound if WeChat Pay has none).
func (c *Client) Query(ctx context.Context, outTradeNo string) (Transaction, error) {
	if outTradeNo == "" {
		return Transaction{}, apperr.Invalidf("out_trade_no is required")
	}
	t, _, err := c.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID),
	})
	if err != nil {
		return Transaction{}, fail("query", err, ErrOrderNotFound)
	}
	return fromSDK(t), nil
}

// QueryByTransactionID returns the paid order with WeChat's transaction_id.
func (c *Client) QueryByTransactionID(ctx context.Context, transactionID string) (Transaction, error) {
	if transactionID == "" {
		return Transaction{}, apperr.Invalidf("transaction_id is required")
	}
	t, _, err := c.jsapi.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{
		TransactionId: core.String(transactionID), Mchid: core.String(c.cfg.MchID),
	})
	if err != nil {
		return Transaction{}, fail("query", err, ErrOrderNotFound)
	}
	return fromSDK(t), nil
}

// Close closes the unpaid order outTradeNo so that it can no longer be paid.
// Returns ErrOrderPaid if it was paid: the caller must then treat the order
// as paid (and refund it if it no longer wants it), never as cancelled.
// Closing a closed order succeeds.
func (c *Client) Close(ctx context.Context, outTradeNo string) error {
	if outTradeNo == "" {
		return apperr.Invalidf("out_trade_no is required")
	}
	_, err := c.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID),
	})
	if err != nil {
		return fail("close", err, ErrOrderNotFound)
	}
	return nil
}

func fromSDK(t *payments.Transaction) Transaction {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out := Transaction{
		AppID: s(t.Appid), MchID: s(t.Mchid), OutTradeNo: s(t.OutTradeNo), TransactionID: s(t.TransactionId),
		TradeType: s(t.TradeType), TradeState: s(t.TradeState), TradeStateDesc: s(t.TradeStateDesc),
		BankType: s(t.BankType), Attach: s(t.Attach), SuccessTime: parseTime(s(t.SuccessTime)),
	}
	if t.Payer != nil {
		out.PayerOpenID = s(t.Payer.Openid)
	}
	if a := t.Amount; a != nil {
		out.Amount.Currency, out.Amount.PayerCurrency = s(a.Currency), s(a.PayerCurrency)
		if a.Total != nil {
			out.Amount.Total = *a.Total
		}
		if a.PayerTotal != nil {
			out.Amount.PayerTotal = *a.PayerTotal
		}
	}
	return out
}
