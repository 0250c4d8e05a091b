package pay

import (
	"fmt"

	"github.com/minifn/minifn/shared/apperr"
)

// Errors of the API methods. Compare with errors.Is.
var (
	// ErrUnavailable is returned when WeChat Pay cannot be reached, times out,
	// answers 5xx or 429, or sends a response whose signature does not verify.
	ErrUnavailable = apperr.New(apperr.Upstream, "pay_unavailable", "WeChat Pay is unavailable")
	// ErrRequestInvalid is returned when a request breaks WeChat Pay's
	// documented limits: it was refused here and never sent.
	ErrRequestInvalid = apperr.New(apperr.Invalid, "invalid_request", "the WeChat Pay request breaks its documented limits; it was not sent")
	// ErrRejected is returned when WeChat Pay refuses a request for a reason
	// callers do not branch on (PARAM_ERROR, NOT_ENOUGH, …); the cause is an *APIError.
	ErrRejected = apperr.New(apperr.Upstream, "pay_rejected", "WeChat Pay rejected the request")
	// ErrOrderPaid is returned by Close (and Prepay) when the order is already paid (ORDERPAID).
	ErrOrderPaid = apperr.New(apperr.Conflict, "order_paid", "the order is already paid")
	// ErrOrderClosed is returned when the order was closed at WeChat Pay (ORDER_CLOSED).
	ErrOrderClosed = apperr.New(apperr.Conflict, "order_closed", "the order is closed at WeChat Pay")
	// ErrOrderNotFound is returned when WeChat Pay has no such order (ORDER_NOT_EXIST, RESOURCE_NOT_EXISTS).
	ErrOrderNotFound = apperr.New(apperr.NotFound, "pay_order_not_found", "WeChat Pay has no such order")
	// ErrOutTradeNoUsed is returned by Prepay when out_trade_no was already used
	// with other parameters (OUT_TRADE_NO_USED).
	ErrOutTradeNoUsed = apperr.New(apperr.Conflict, "out_trade_no_used", "out_trade_no was used with other parameters")
	// ErrRefundNotFound is returned by QueryRefund when WeChat Pay has no such refund.
	ErrRefundNotFound = apperr.New(apperr.NotFound, "refund_not_found", "WeChat Pay has no such refund")
)

// Errors of ParseNotify. The handler answers them with
// {"code":"FAIL","message":…} and a 4xx, so that WeChat Pay retries.
var (
	// ErrInvalidSignature is returned when Wechatpay-Signature is missing or
	// does not verify with the configured WeChat Pay public key.
	ErrInvalidSignature = apperr.New(apperr.Unauthenticated, "invalid_signature", "the notify signature does not verify")
	// ErrStaleNotify is returned when Wechatpay-Timestamp is more than 5 minutes off the clock.
	ErrStaleNotify = apperr.New(apperr.Unauthenticated, "stale_notify", "the notify timestamp is more than 5 minutes off")
	// ErrUnknownSerial is returned when Wechatpay-Serial is not the configured public key id.
	ErrUnknownSerial = apperr.New(apperr.Unauthenticated, "unknown_serial", "the notify is signed with an unknown key")
	// ErrUndecryptable is returned when the resource does not decrypt with the APIv3 key.
	ErrUndecryptable = apperr.New(apperr.Invalid, "undecryptable_notify", "the notify resource does not decrypt")
	// ErrInvalidNotify is returned when the notify is malformed or is for another merchant.
	ErrInvalidNotify = apperr.New(apperr.Invalid, "invalid_notify", "the notify is malformed")
)

// APIError is WeChat Pay's answer to a refused request, kept as the cause of
// the returned *apperr.Error.
type APIError struct {
	Status  int    // HTTP status
	Code    string // e.g. PARAM_ERROR, ORDERPAID
	Message string // WeChat Pay's text
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat pay %d %s: %s", e.Status, e.Code, e.Message)
}
