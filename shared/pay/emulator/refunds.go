package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

var outRefundNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

// refund is a domestic refund.
type refund struct {
	MchID, RefundID, OutRefundNo, TransactionID, OutTradeNo, Reason, NotifyURL, Status string
	Refund, Total                                                                      int64
	createTime, successTime                                                            time.Time
}

func (r *refund) sameParams(p *refund) bool {
	return r.OutTradeNo == p.OutTradeNo && r.Refund == p.Refund && r.Total == p.Total && r.Reason == p.Reason
}

// refundJSON is the documented refund object.
type refundJSON struct {
	RefundID            string        `json:"refund_id"`
	OutRefundNo         string        `json:"out_refund_no"`
	TransactionID       string        `json:"transaction_id"`
	OutTradeNo          string        `json:"out_trade_no"`
	Channel             string        `json:"channel"`
	UserReceivedAccount string        `json:"user_received_account"`
	SuccessTime         string        `json:"success_time,omitempty"`
	CreateTime          string        `json:"create_time"`
	Status              string        `json:"status"`
	FundsAccount        string        `json:"funds_account"`
	Amount              refundAmount  `json:"amount"`
	PromotionDetail     []interface{} `json:"promotion_detail"`
}

type refundAmount struct {
	Total            int64         `json:"total"`
	Refund           int64         `json:"refund"`
	From             []interface{} `json:"from"`
	PayerTotal       int64         `json:"payer_total"`
	PayerRefund      int64         `json:"payer_refund"`
	SettlementRefund int64         `json:"settlement_refund"`
	SettlementTotal  int64         `json:"settlement_total"`
	DiscountRefund   int64         `json:"discount_refund"`
	Currency         string        `json:"currency"`
}

func (r *refund) json() refundJSON {
	j := refundJSON{RefundID: r.RefundID, OutRefundNo: r.OutRefundNo, TransactionID: r.TransactionID,
		OutTradeNo: r.OutTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		CreateTime: fmtTime(r.createTime), Status: r.Status, FundsAccount: "AVAILABLE",
		Amount: refundAmount{Total: r.Total, Refund: r.Refund, From: []interface{}{}, PayerTotal: r.Total,
			PayerRefund: r.Refund, SettlementRefund: r.Refund, SettlementTotal: r.Total, Currency: "CNY"},
		PromotionDetail: []interface{}{}}
	if r.Status == "SUCCESS" {
		j.SuccessTime = fmtTime(r.successTime)
	}
	return j
}

// notifyResource is the documented REFUND.* notify resource.
func (r *refund) notifyResource() any {
	type amount struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	}
	v := struct {
		MchID               string `json:"mchid"`
		OutTradeNo          string `json:"out_trade_no"`
		TransactionID       string `json:"transaction_id"`
		OutRefundNo         string `json:"out_refund_no"`
		RefundID            string `json:"refund_id"`
		RefundStatus        string `json:"refund_status"`
		SuccessTime         string `json:"success_time,omitempty"`
		UserReceivedAccount string `json:"user_received_account"`
		Amount              amount `json:"amount"`
	}{r.MchID, r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID, r.Status, "", "支付用户零钱",
		amount{r.Total, r.Refund, r.Total, r.Refund}}
	if r.Status == "SUCCESS" {
		v.SuccessTime = fmtTime(r.successTime)
	}
	return v
}

type refundBody struct {
	TransactionID *string `json:"transaction_id"`
	OutTradeNo    *string `json:"out_trade_no"`
	OutRefundNo   *string `json:"out_refund_no"`
	Reason        *string `json:"reason"`
	NotifyURL     *string `json:"notify_url"`
	Amount        *struct {
		Refund   *int64  `json:"refund"`
		Total    *int64  `json:"total"`
		Currency *string `json:"currency"`
	} `json:"amount"`
}

func validateRefund(body []byte) (refundBody, *apiError) {
	var b refundBody
	if err := json.Unmarshal(body, &b); err != nil {
		return b, errorf(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: "+err.Error())
	}
	switch {
	case str(b.TransactionID) == "" && str(b.OutTradeNo) == "":
		return b, paramError("out_trade_no", "transaction_id or out_trade_no is required")
	case !outRefundNoRE.MatchString(str(b.OutRefundNo)):
		return b, paramError("out_refund_no", "must be 1-64 characters of [0-9A-Za-z_-|*@]")
	case len(str(b.Reason)) > 80:
		return b, paramError("reason", "must be at most 80 bytes")
	case b.Amount == nil || b.Amount.Refund == nil || *b.Amount.Refund < 1:
		return b, paramError("amount.refund", "must be at least 1")
	case b.Amount.Total == nil || *b.Amount.Total < 1:
		return b, paramError("amount.total", "must be at least 1")
	case str(b.Amount.Currency) != "CNY":
		return b, paramError("amount.currency", "must be CNY")
	}
	if b.NotifyURL != nil {
		if aerr := checkNotifyURL("notify_url", *b.NotifyURL); aerr != nil {
			return b, aerr
		}
	}
	return b, nil
}

func (e *Emulator) createRefund(c call) (int, any) {
	b, aerr := validateRefund(c.body)
	if aerr != nil {
		return 0, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.orders[tradeKey{c.mchid, str(b.OutTradeNo)}]
	if id := str(b.TransactionID); id != "" {
		o = e.byTxID[id]
	}
	if o == nil || o.MchID != c.mchid {
		return 0, errorf(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	r := &refund{MchID: c.mchid, OutRefundNo: *b.OutRefundNo, TransactionID: o.TransactionID, OutTradeNo: o.OutTradeNo,
		Reason: str(b.Reason), NotifyURL: str(b.NotifyURL), Status: "PROCESSING",
		Refund: *b.Amount.Refund, Total: *b.Amount.Total, createTime: e.now()}
	k := tradeKey{c.mchid, r.OutRefundNo}
	if old, ok := e.refunds[k]; ok {
		if !old.sameParams(r) {
			return 0, errorf(http.StatusBadRequest, "INVALID_REQUEST", "退款单号重复，且退款参数不一致")
		}
		return http.StatusOK, old.json()
	}
	switch {
	case o.State != "SUCCESS" && o.State != "REFUND":
		return 0, errorf(http.StatusBadRequest, "INVALID_REQUEST", "订单未支付，不能退款")
	case r.Total != o.Total:
		return 0, paramError("amount.total", "does not match the order total")
	case r.Refund > o.Total-o.refunded:
		return 0, errorf(http.StatusBadRequest, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
	}
	fault := e.takeRefundFault(o.OutTradeNo)
	if fault != nil && fault.Code != "" {
		// Refused: nothing is recorded, as WeChat Pay records nothing.
		ref := refundRefusals[fault.Code]
		return 0, errorf(ref.status, fault.Code, ref.msg)
	}
	r.RefundID = fmt.Sprintf("50%s%019d", r.createTime.In(beijing).Format("20060102"), e.nextSeq())
	e.refunds[k] = r
	o.refunded += r.Refund
	o.State = "REFUND"
	resp := r.json()
	switch {
	case fault != nil:
		e.finishRefundLocked(r, fault.Status)
	case !e.opts.ManualRefunds:
		e.finishRefundLocked(r, "SUCCESS")
	}
	return http.StatusOK, resp
}

func (e *Emulator) queryRefund(c call) (int, any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.refunds[tradeKey{c.mchid, c.r.PathValue("no")}]
	if !ok {
		return 0, errorf(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return http.StatusOK, r.json()
}

// CompleteRefund finishes the PROCESSING refund outRefundNo with status
// SUCCESS, CLOSED or ABNORMAL and sends the REFUND.* notify. Returns
// ErrNotFound, ErrAmbiguous or ErrNotPending.
func (e *Emulator) CompleteRefund(outRefundNo, status string) error {
	defer e.changed() // the state file, if any
	if status != "SUCCESS" && status != "CLOSED" && status != "ABNORMAL" {
		return fmt.Errorf("emulator: refund status must be SUCCESS, CLOSED or ABNORMAL")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var r *refund
	for k, v := range e.refunds {
		if k.no == outRefundNo {
			if r != nil {
				return ErrAmbiguous
			}
			r = v
		}
	}
	switch {
	case r == nil:
		return ErrNotFound
	case r.Status != "PROCESSING":
		return ErrNotPending
	}
	e.finishRefundLocked(r, status)
	return nil
}

// finishRefundLocked moves r to status and notifies; e.mu must be held.
func (e *Emulator) finishRefundLocked(r *refund, status string) {
	r.Status = status
	if status == "SUCCESS" {
		r.successTime = e.now()
	} else if o := e.orders[tradeKey{r.MchID, r.OutTradeNo}]; o != nil {
		o.refunded -= r.Refund // the money stays refundable
	}
	if r.NotifyURL != "" {
		e.enqueueLocked(r.MchID, r.NotifyURL, "REFUND."+status, r.notifyResource(), r.OutTradeNo, r.OutRefundNo)
	}
}
