package pay

import (
	"context"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
)

// Refund states (status, refund_status).
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundAbnormal   = "ABNORMAL" // the payer's card was cancelled; needs manual handling
)

// RefundRequest refunds part or all of a paid order. Amounts are fen.
type RefundRequest struct {
	OutTradeNo    string // the order, or
	TransactionID string // WeChat's id of it (one of the two)
	OutRefundNo   string // unique per merchant; retrying with the same number is idempotent
	Reason        string // optional, ≤80 bytes, shown to the payer
	Refund        int64  // this refund, ≥1, ≤ what remains refundable
	Total         int64  // the order's total, as paid
	NotifyURL     string // optional; default Config.NotifyURL
}

// Validate checks r against the documented limits.
func (r RefundRequest) Validate() error {
	switch {
	case r.OutTradeNo == "" && r.TransactionID == "":
		return apperr.Invalidf("out_trade_no or transaction_id is required")
	case !ident.Valid(r.OutRefundNo, 1, 64, "_-|*@"):
		return apperr.Invalidf("out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]")
	case len(r.Reason) > 80:
		return apperr.Invalidf("reason must be at most 80 bytes")
	case r.Refund < 1 || r.Total < r.Refund:
		return apperr.Invalidf("refund must be between 1 fen and total")
	}
	return nil
}

// Refund is WeChat Pay's refund record. Amounts are fen.
type Refund struct {
	RefundID            string
	OutRefundNo         string
	TransactionID       string
	OutTradeNo          string
	Channel             string // ORIGINAL, BALANCE, OTHER_BALANCE, OTHER_BANKCARD
	UserReceivedAccount string
	Status              string // Refund*
	CreateTime          time.Time
	SuccessTime         time.Time // zero unless SUCCESS
	Amount              RefundAmount
}

// RefundAmount is the money of a refund.
type RefundAmount struct {
	Total       int64 // the order's total
	Refund      int64 // this refund
	PayerTotal  int64
	PayerRefund int64
	Currency    string
}

// Refund asks WeChat Pay to refund. The answer is usually PROCESSING; the
// outcome arrives as a REFUND.* notify (or QueryRefund). Returns
// ErrOrderNotFound for an unknown order and ErrRejected for refusals such as
// an amount over what remains refundable or an unpaid order.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (Refund, error) {
	if err := r.Validate(); err != nil {
		return Refund{}, err
	}
	notify := r.NotifyURL
	if notify == "" {
		notify = c.cfg.NotifyURL
	}
	req := refunddomestic.CreateRequest{
		OutRefundNo: core.String(r.OutRefundNo),
		NotifyUrl:   core.String(notify),
		Amount: &refunddomestic.AmountReq{
			Refund: core.Int64(r.Refund), Total: core.Int64(r.Total), Currency: core.String("CNY"),
		},
	}
	if r.TransactionID != "" {
		req.TransactionId = core.String(r.TransactionID)
	} else {
		req.OutTradeNo = core.String(r.OutTradeNo)
	}
	if r.Reason != "" {
		req.Reason = core.String(r.Reason)
	}
	resp, _, err := c.refunds.Create(ctx, req)
	if err != nil {
		return Refund{}, fail("refund", err, ErrOrderNotFound)
	}
	return refundFromSDK(resp), nil
}

// QueryRefund returns the refund outRefundNo (ErrRefundNotFound if none).
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (Refund, error) {
	if outRefundNo == "" {
		return Refund{}, apperr.Invalidf("out_refund_no is required")
	}
	resp, _, err := c.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{
		OutRefundNo: core.String(outRefundNo),
	})
	if err != nil {
		return Refund{}, fail("refund query", err, ErrRefundNotFound)
	}
	return refundFromSDK(resp), nil
}

func refundFromSDK(r *refunddomestic.Refund) Refund {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	n := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	out := Refund{
		RefundID: s(r.RefundId), OutRefundNo: s(r.OutRefundNo), TransactionID: s(r.TransactionId),
		OutTradeNo: s(r.OutTradeNo), UserReceivedAccount: s(r.UserReceivedAccount),
	}
	if r.Channel != nil {
		out.Channel = string(*r.Channel)
	}
	if r.Status != nil {
		out.Status = string(*r.Status)
	}
	if r.CreateTime != nil {
		out.CreateTime = *r.CreateTime
	}
	if r.SuccessTime != nil {
		out.SuccessTime = *r.SuccessTime
	}
	if a := r.Amount; a != nil {
		out.Amount = RefundAmount{Total: n(a.Total), Refund: n(a.Refund), PayerTotal: n(a.PayerTotal),
			PayerRefund: n(a.PayerRefund), Currency: s(a.Currency)}
	}
	return out
}
