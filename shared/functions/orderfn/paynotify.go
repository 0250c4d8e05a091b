package orderfn

import (
	"log/slog"
	"net/http"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
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

// PayNotifyHandler serves POST /pay/notify, WeChat Pay's callback for payments and
// refunds. The body is read raw and verified before anything else reads it.
// It answers 204 only once the notify's effect (or the fact that it was
// already applied) is stored; otherwise a 4xx/5xx with
// {"code":"FAIL","message":…}, so that WeChat Pay retries.
func PayNotifyHandler(p NotifyParser, svc *order.Service) http.Handler {
	return notifyHandler{p: p, svc: svc}
}

// PayNotifyHandlerWithWallet is PayNotifyHandler that also takes the
// wallet's top-ups: a notify whose out_trade_no is a top-up's
// (wallet.IsTradeNo: "wt…", never an order id) goes to ws, every other to
// the orders. ws is built whatever MINIFN_WALLET says: a top-up paid while
// the wallet was on is credited even after it was turned off.
func PayNotifyHandlerWithWallet(p NotifyParser, svc *order.Service, ws *wallet.Service) http.Handler {
	return notifyHandler{p: p, svc: svc, wallet: ws}
}

type notifyHandler struct {
	p      NotifyParser
	svc    *order.Service
	wallet *wallet.Service // nil: every notify is an order's
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
	switch {
	case h.wallet != nil && n.Transaction != nil && wallet.IsTradeNo(n.Transaction.OutTradeNo):
		_, err = h.wallet.HandlePayment(ctx, *n.Transaction)
	case h.wallet != nil && n.Refund != nil && wallet.IsTradeNo(n.Refund.OutTradeNo):
		_, err = h.wallet.HandleRefund(ctx, *n.Refund)
	case n.Transaction != nil:
		_, err = h.svc.HandlePayment(ctx, n.ID, *n.Transaction)
	case n.Refund != nil:
		_, err = h.svc.HandleRefund(ctx, n.ID, *n.Refund)
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
