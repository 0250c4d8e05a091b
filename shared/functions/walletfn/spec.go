// Package walletfn holds the wallet function (stored value: balance and
// ledger, top-up plans, top-ups paid by WeChat Pay, refunds, admin
// adjustments) with its HTTP handlers. The payments' and refunds' notifies
// arrive at pay-notify (orderfn), which hands a top-up's to package wallet
// by its out_trade_no; the order-expire timer closes unpaid top-ups.
package walletfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/functions/internal/paywire"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/wallet"
)

// ErrDisabled answers every wallet route while MINIFN_WALLET is not on:
// stored value needs the merchant's filing first (docs/wallet.md).
var ErrDisabled = apperr.New(apperr.NotFound, "wallet_disabled",
	"the wallet is not enabled for this shop (MINIFN_WALLET)")

// Wallet serves the wallet.
//
//	GET  /wallet[?after=&limit=]          user → {"balance","principal","bonus","ledger":[…],"next"?}
//	POST /wallet/topup {"plan_id"}        user → 201 {"topup","payment"}
//	GET  /wallet/topups[?after=&limit=]   user → {"topups":[…],"next"?}
//	GET  /wallet/topups/{no}              user (own) or admin → {"topup"}
//	POST /wallet/topups/{no}/refund {"reason"?}  admin → 200 {"topup"} (refunding)
//	GET  /topup-plans                     user or admin → {"plans":[…]}
//	POST /topup-plans {"amount","bonus"}  admin → 201 {"plan"}
//	GET  /wallets/{openid}[?after=&limit=]  admin → as GET /wallet, for that user
//	POST /wallets/{openid}/adjust {"amount","reason"}  admin → 201 {"entry","balance"}
//
// Off (MINIFN_WALLET unset or off), every route answers 404 wallet_disabled.
var Wallet = app.Spec{
	Name: "wallet",
	Routes: []string{"GET /wallet", "POST /wallet/topup", "GET /wallet/topups", "GET /wallet/topups/{no}",
		"POST /wallet/topups/{no}/refund", "GET /topup-plans", "POST /topup-plans", "GET /wallets/{openid}",
		"POST /wallets/{openid}/adjust"},
	Build: func(a *app.App) (platform.Function, error) {
		if !a.Config.Wallet.On() {
			off := httpapi.Func(func(http.ResponseWriter, *http.Request) error { return ErrDisabled })
			routes := map[string]http.Handler{}
			for _, r := range []string{"GET /wallet", "POST /wallet/topup", "GET /wallet/topups", "GET /wallet/topups/{no}",
				"POST /wallet/topups/{no}/refund", "GET /topup-plans", "POST /topup-plans", "GET /wallets/{openid}",
				"POST /wallets/{openid}/adjust"} {
				routes[r] = off
			}
			return platform.Function{Handler: httpapi.RouterOf(routes)}, nil
		}
		pc, err := paywire.Client(a)
		if err != nil {
			return platform.Function{}, err
		}
		ws := wallet.New(a.Store, wallet.Options{Pay: pc, Now: a.Now, TTL: a.Config.OrderTTL})
		h := Handlers(ws)
		user, admin, either := a.Sessions.Require, a.Sessions.RequireAdmin, a.Sessions.RequireAny
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /wallet":                     user(h["GET /wallet"]),
			"POST /wallet/topup":              user(h["POST /wallet/topup"]),
			"GET /wallet/topups":              user(h["GET /wallet/topups"]),
			"GET /wallet/topups/{no}":         either(h["GET /wallet/topups/{no}"]),
			"POST /wallet/topups/{no}/refund": admin(h["POST /wallet/topups/{no}/refund"]),
			"GET /topup-plans":                either(h["GET /topup-plans"]),
			"POST /topup-plans":               admin(h["POST /topup-plans"]),
			"GET /wallets/{openid}":           admin(h["GET /wallets/{openid}"]),
			"POST /wallets/{openid}/adjust":   admin(h["POST /wallets/{openid}/adjust"]),
		})}, nil
	},
}
