// Package orderfn holds the order functions: order-create (with the WeChat
// Pay prepay), orders (list, show, cancel), pay-notify (WeChat Pay's
// callbacks), order-expire (the timer) and refund, with their HTTP handlers
// and what a paid order sets off (paid.go). They and the wallet function
// (walletfn: top-ups) are the only functions that link WeChat Pay; both
// build its client with shared/functions/internal/paywire. pay-notify and
// order-expire also serve the wallet's top-ups (their notifies, expiry).
package orderfn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/functions/internal/paywire"
	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/member"
	"github.com/minifn/minifn/shared/moderation"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/wallet"
)

// orderService builds the order service with the WeChat Pay client, which
// every order function needs (prepay, close, query, refund).
func orderService(a *app.App) (*order.Service, *pay.Client, error) {
	pc, err := paywire.Client(a)
	if err != nil {
		return nil, nil, err
	}
	hook, err := paidHook(a) // points (credited, and taken back by refunds), attribution, subscribe message (paid.go)
	if err != nil {
		return nil, nil, err
	}
	var mo moderation.Options // no WeChat client: notes are stored flagged unchecked
	o := order.Options{Products: product.New(a.Store, product.Options{Now: a.Now}), Pay: pc,
		Coupons: coupon.New(a.Store, coupon.Options{Now: a.Now}), Now: a.Now, TTL: a.Config.OrderTTL,
		Paid: hook, Points: hook.points, ShippingMode: a.Config.Shipping.Mode,
		// The wallet gives back what orders took from it even while it is
		// off; "use_balance" needs MINIFN_WALLET=on.
		Wallet: walletService(a, pc), BalanceOff: !a.Config.Wallet.On(),
		// Tiers: the member discount and multiplier at create, growth in
		// the paid and refund Writes (docs/members.md).
		Members: member.New(a.Store, member.Options{Now: a.Now})}
	if a.WeChat != nil {
		mo.WeChat = a.WeChat
		o.Shipper = a.WeChat // shipping uploads (order/shipping.go); without WeChat, orders carry no shipping
	}
	o.Notes = moderation.New(mo)
	// Orders made in a store (scan-and-go, tables): the store, open, and
	// its staff (exit-pass verify, the queue) from package outlet; a table
	// order's table only from its code's scene (order/table.go).
	o.Stores, o.Tables = outlet.New(a.Store, outlet.Options{Now: a.Now}), hook.scenes
	return order.New(a.Store, o), pc, nil
}

// walletService is the wallet's side of pay-notify and order-expire: top-up
// notifies and expiry (package wallet), whatever MINIFN_WALLET says.
func walletService(a *app.App, pc *pay.Client) *wallet.Service {
	return wallet.New(a.Store, wallet.Options{Pay: pc, Now: a.Now, TTL: a.Config.OrderTTL})
}

// OrderCreate places an order and prepays it at WeChat Pay.
var OrderCreate = app.Spec{
	Name:   "order-create",
	Routes: []string{"POST /orders"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		limit := a.RateLimit(app.RateActionOrder)
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /orders": a.Sessions.Require(limit(OrderCreateHandler(svc))),
		})}, nil
	},
}

// Orders lists, shows and cancels the caller's orders; the admin token
// lists and shows every user's. It also serves scan-and-go's exit passes:
// the owner's pass and the door's verify (store staff or admin).
var Orders = app.Spec{
	Name: "orders",
	Routes: []string{"GET /orders", "GET /orders/{id}", "POST /orders/{id}/cancel", "POST /orders/{id}/ship", "POST /orders/{id}/remind-receipt",
		"GET /orders/{id}/exit-pass", "POST /exit-passes/verify", // scan-and-go (exitpass.go)
		"GET /stores/{id}/queue", "POST /orders/{id}/serve"}, // table orders' queue (queue.go)
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		h, either, admin := OrdersHandler(svc), a.Sessions.RequireAny, a.Sessions.RequireAdmin
		x := ExitPassHandler(svc)
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /stores/{id}/queue":           either(TableHandler(svc)["GET /stores/{id}/queue"]), // the admin or staff of the store
			"POST /orders/{id}/serve":          either(TableHandler(svc)["POST /orders/{id}/serve"]),
			"GET /orders":                      either(h["GET /orders"]),
			"GET /orders/{id}":                 either(h["GET /orders/{id}"]),
			"POST /orders/{id}/cancel":         a.Sessions.Require(h["POST /orders/{id}/cancel"]),
			"POST /orders/{id}/ship":           admin(h["POST /orders/{id}/ship"]),
			"POST /orders/{id}/remind-receipt": admin(h["POST /orders/{id}/remind-receipt"]),
			// Scan-and-go (exitpass.go): the owner's pass, the door's verify.
			"GET /orders/{id}/exit-pass": a.Sessions.Require(x["GET /orders/{id}/exit-pass"]),
			"POST /exit-passes/verify":   either(x["POST /exit-passes/verify"]),
		})}, nil
	},
}

// PayNotify receives WeChat Pay's payment and refund notifies. It has no
// session: the notify's signature is its authentication.
var PayNotify = app.Spec{
	Name:   "pay-notify",
	Routes: []string{"POST /pay/notify"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, pc, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /pay/notify": PayNotifyHandler(pc, Notified{Orders: svc, Wallet: walletService(a, pc),
				GiftCards: giftCardService(a, pc)}),
		})}, nil
	},
}

// giftCardService is the gift cards' side of pay-notify and order-expire:
// purchase notifies and expiry, whatever MINIFN_WALLET says.
func giftCardService(a *app.App, pc *pay.Client) *giftcard.Service {
	return giftcard.New(a.Store, giftcard.Options{Pay: pc, Wallet: walletService(a, pc), Now: a.Now, TTL: a.Config.OrderTTL})
}

// OrderExpire is the timer that closes unpaid orders older than
// MINIFN_ORDER_TTL, finishes refunds whose notify never came, and retries
// shipping uploads WeChat has not taken yet; also the wallet's top-ups and
// unpaid gift cards, and the bookings' reminders (remind.go).
var OrderExpire = app.Spec{
	Name: "order-expire",
	Build: func(a *app.App) (platform.Function, error) {
		svc, pc, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		bookings, err := bookingReminders(a)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Job: func(ctx context.Context) error {
			n, err := svc.Expire(ctx)
			// Then the refunds whose notify never came (order.SweepRefunds).
			m, serr := svc.SweepRefunds(ctx)
			// Then the shipping uploads WeChat has not taken yet (order.SweepShipping).
			k, sherr := svc.SweepShipping(ctx)
			// Then the wallet's unpaid top-ups and unfinished top-up refunds
			// (wallet.Sweep; two queries of empty collections when unused).
			wc, wf, werr := walletService(a, pc).Sweep(ctx)
			// Then unpaid gift cards (giftcard.Expire).
			gc, gerr := giftCardService(a, pc).Expire(ctx)
			// Then the reminders of bookings whose slot is near
			// (booking.Remind; nothing when MINIFN_SUBSCRIBE_BOOKING_TEMPLATE is unset).
			br, berr := bookings.Remind(ctx)
			slog.InfoContext(ctx, "order-expire", "closed", n, "refunds_finished", m, "shipping_done", k,
				"topups_closed", wc, "topup_refunds_finished", wf, "giftcards_closed", gc, "booking_reminders", br,
				"err", err, "sweep_err", serr, "shipping_err", sherr, "wallet_err", werr, "giftcard_err", gerr,
				"booking_err", berr)
			return errors.Join(err, serr, sherr, werr, gerr, berr)
		}}, nil
	},
}

// Refund refunds a paid order (admin).
var Refund = app.Spec{
	Name:   "refund",
	Routes: []string{"POST /orders/{id}/refund"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /orders/{id}/refund": a.Sessions.RequireAdmin(RefundHandler(svc)),
		})}, nil
	},
}
