package order

import "github.com/minifn/minifn/shared/apperr"

// Errors of the order service.
var (
	// ErrNotFound is returned when the order does not exist or is not the caller's.
	ErrNotFound = apperr.New(apperr.NotFound, "order_not_found", "no such order")
	// ErrNoUser is returned when an order is created without a signed-in user.
	ErrNoUser = apperr.New(apperr.Unauthenticated, "unauthenticated", "a user is required")
	// ErrSoldOut is returned when a product has less stock than ordered.
	ErrSoldOut = apperr.New(apperr.Conflict, "sold_out", "the product is sold out")
	// ErrTotalTooLow is returned when the discount leaves less than 1 fen to pay.
	ErrTotalTooLow = apperr.New(apperr.Conflict, "total_too_low", "the order total must be at least 1 fen")
	// ErrPrepayFailed is returned when WeChat Pay did not create the
	// transaction; the order is closed and its stock and coupon released.
	ErrPrepayFailed = apperr.New(apperr.Upstream, "prepay_failed", "WeChat Pay could not create the payment; nothing was reserved")
	// ErrPrepayRefused is returned when our own WeChat Pay client refused the
	// prepay request before sending it (pay.ErrRequestInvalid: a setting or
	// a bug of ours, not WeChat Pay); the order is closed and its stock and
	// coupon released, as for ErrPrepayFailed.
	ErrPrepayRefused = apperr.New(apperr.Internal, "prepay_refused", "minifn's WeChat Pay client refused the payment request before sending it (WeChat Pay was not called); nothing was reserved")
	// ErrNotCancellable is returned when cancelling an order that is not pending.
	ErrNotCancellable = apperr.New(apperr.Conflict, "not_cancellable", "only a pending order can be cancelled")
	// ErrNotRefundable is returned when refunding an order that is not paid,
	// or more than what is left to refund.
	ErrNotRefundable = apperr.New(apperr.Conflict, "not_refundable", "the order cannot be refunded")
	// ErrRefundInFlight is returned when a refund is asked while another is open.
	ErrRefundInFlight = apperr.New(apperr.Conflict, "refund_in_flight", "a refund of this order is being processed")
	// ErrNotifyMismatch is returned when a notify's merchant, appid, amount or
	// state does not match the order.
	ErrNotifyMismatch = apperr.New(apperr.Invalid, "notify_mismatch", "the notify does not match the order")
	// ErrWalletDisabled is returned by Create for "use_balance" while the
	// wallet is off (MINIFN_WALLET; the wallet function's own answer).
	ErrWalletDisabled = apperr.New(apperr.NotFound, "wallet_disabled", "the wallet is not enabled for this shop (MINIFN_WALLET)")
	// ErrNoStores is returned by Create for an order placed in a store
	// ("store_id") when the order functions know no stores.
	ErrNoStores = apperr.New(apperr.Invalid, "invalid_request", "this shop has no stores: \"store_id\" cannot be used")
	// ErrBusy is returned when an order kept changing under a transition.
	ErrBusy = apperr.New(apperr.Conflict, "conflict", "the order changed; try again")
)
