package orderfn

import (
	"log/slog"
	"net/http"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/requestid"
	"github.com/minifn/minifn/shared/wallet"
)

// NotifyParser verifies and decrypts WeChat Pay notifies; *pay.Client
// implements it.
type NotifyParser interface {
	ParseNotify(header http.Header, body []byte) (pay.Notify, error)
}

// Notified are the services pay-notify applies WeChat Pay's notifies to.
type Notified struct {
	// Orders takes every notify whose out_trade_no is not a top-up's.
	Orders *order.Service
	// Wallet takes the top-ups' notifies: a payment or refund whose
	// out_trade_no is a top-up's (wallet.IsTradeNo: "wt…", never an order
	// id). The pay-notify function always gives it, whatever MINIFN_WALLET
	// says, so that a top-up paid while the wallet was on is credited even
	// after it was turned off.
	//
	// Nil (a setup of orders only), a top-up's notify is answered 503 FAIL
	// topup_unhandled and logged at ERROR: WeChat Pay retries it on its
	// schedule (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m
	// in all, then stops:
	// https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_2_5.shtml), so
	// a pay-notify redeployed with the wallet within the day still credits
	// it, and the wallet's sweep (order-expire) queries it after that. It is
	// never handed to the orders, whose "no such order" would read as a
	// stranger's notify.
	Wallet *wallet.Service
	// GiftCards takes the gift cards' payment notifies (giftcard.IsTradeNo:
	// "gc…"), whatever MINIFN_WALLET says, as Wallet does. Nil, a card's
	// notify is answered 503 FAIL giftcard_unhandled (WeChat Pay retries).
	GiftCards *giftcard.Service
}

// ErrGiftCardUnhandled is returned when a gift card's notify reaches a
// pay-notify handler built without gift cards (Notified.GiftCards nil).
var ErrGiftCardUnhandled = apperr.New(apperr.Unavailable, "giftcard_unhandled",
	"this pay-notify does not take gift cards; WeChat Pay will retry")

// ErrTopUpUnhandled is returned when a top-up's notify reaches a
// pay-notify handler built without the wallet (Notified.Wallet nil).
var ErrTopUpUnhandled = apperr.New(apperr.Unavailable, "topup_unhandled",
	"this pay-notify does not take top-ups; WeChat Pay will retry")

// PayNotifyHandler serves POST /pay/notify, WeChat Pay's callback for
// payments and refunds, of orders and of top-ups (dispatched by
// out_trade_no, see Notified). The body is read raw and verified before
// anything else reads it. It answers 204 only once the notify's effect (or
// the fact that it was already applied) is stored; otherwise a 4xx/5xx with
// {"code":"FAIL","message":…}, so that WeChat Pay retries.
func PayNotifyHandler(p NotifyParser, to Notified) http.Handler {
	return notifyHandler{p: p, to: to}
}

type notifyHandler struct {
	p  NotifyParser
	to Notified
}

func (h notifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The one recovery besides the platform edge's (shared/platform): a
	// failed notify must be answered with WeChat Pay's {"code":"FAIL"}
	// body (https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_3_5.shtml,
	// 通知应答), not the contract's error shape the edge writes.
	defer func() {
		if v := recover(); v != nil {
			slog.ErrorContext(r.Context(), "pay notify panic", "value", v, "request_id", requestid.From(r.Context()))
			notifyFail(w, r, apperr.ErrInternal)
		}
	}()
	if err := h.handle(r); err != nil {
		notifyFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h notifyHandler) handle(r *http.Request) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	n, err := h.p.ParseNotify(r.Header, body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	topUp := (n.Transaction != nil && wallet.IsTradeNo(n.Transaction.OutTradeNo)) ||
		(n.Refund != nil && wallet.IsTradeNo(n.Refund.OutTradeNo))
	card := (n.Transaction != nil && giftcard.IsTradeNo(n.Transaction.OutTradeNo)) ||
		(n.Refund != nil && giftcard.IsTradeNo(n.Refund.OutTradeNo))
	switch {
	case card && (h.to.GiftCards == nil || n.Transaction == nil):
		// Gift cards are never refunded at WeChat Pay (a take-back credits
		// the buyer's wallet): a card's refund notify is a merchant's
		// refund made by hand in the merchant platform; it is logged and
		// retried, not handed to the orders.
		slog.ErrorContext(ctx, "pay notify of a gift card not handled", "id", n.ID, "event_type", n.EventType)
		err = ErrGiftCardUnhandled
	case card:
		_, err = h.to.GiftCards.HandlePayment(ctx, *n.Transaction)
	case topUp && h.to.Wallet == nil:
		slog.ErrorContext(ctx, "pay notify of a top-up without the wallet", "id", n.ID, "event_type", n.EventType)
		err = ErrTopUpUnhandled
	case topUp && n.Transaction != nil:
		_, err = h.to.Wallet.HandlePayment(ctx, *n.Transaction)
	case topUp:
		_, err = h.to.Wallet.HandleRefund(ctx, *n.Refund)
	case n.Transaction != nil:
		_, err = h.to.Orders.HandlePayment(ctx, n.ID, *n.Transaction)
	case n.Refund != nil:
		_, err = h.to.Orders.HandleRefund(ctx, n.ID, *n.Refund)
	default:
		// An event minifn does not act on: acknowledge it, or WeChat Pay
		// would retry it for a day.
		slog.InfoContext(ctx, "pay notify ignored", "event_type", n.EventType, "id", n.ID)
	}
	return err
}

// notifyFail answers in WeChat Pay's failure shape, with the status our
// error table gives the error (401 for a bad signature, 400 for a mismatch,
// 5xx for our own failures).
func notifyFail(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.From(err)
	status := httpapi.Status(e)
	if status < 400 {
		status = http.StatusInternalServerError
	}
	// The access line carries the code and cause (at WARN for a 4xx): a
	// refused notify is WeChat Pay's money we did not take.
	if !accesslog.SetError(r.Context(), e.Code, err) {
		slog.WarnContext(r.Context(), "pay notify refused", "status", status, "code", e.Code, "err", err,
			"request_id", requestid.From(r.Context()))
	}
	msg := e.Message
	if e.Kind == apperr.Internal {
		msg = "internal error"
	}
	httpapi.JSON(w, status, map[string]string{"code": "FAIL", "message": msg})
}
