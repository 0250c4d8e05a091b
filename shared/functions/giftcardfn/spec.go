// Package giftcardfn holds the giftcards function (gift cards bought by
// WeChat Pay, sent by a one-time token, claimed into the claimer's wallet,
// taken back by their buyer) with its HTTP handlers. The purchases'
// notifies arrive at pay-notify (orderfn), which hands a card's to package
// giftcard by its out_trade_no ("gc…").
package giftcardfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/functions/internal/paywire"
	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/wallet"
)

// ErrDisabled answers every route while MINIFN_WALLET is not on: a gift
// card's value goes to a wallet (stored value, docs/wallet.md).
var ErrDisabled = apperr.New(apperr.NotFound, "wallet_disabled",
	"the wallet is not enabled for this shop (MINIFN_WALLET)")

// errAdminOnly answers a user's request for the merchant's list.
var errAdminOnly = session.ErrForbidden.WithMessage("only the admin token lists every gift card sale")

var routes = []string{"POST /giftcards", "GET /giftcards", "GET /giftcards/{id}", "POST /giftcards/{id}/send",
	"POST /giftcards/{id}/revoke", "POST /giftcards/claim"}

// GiftCards serves gift cards.
//
//	POST /giftcards {"amount","message"?}  user → 201 {"giftcard","payment"}
//	GET  /giftcards[?after=&limit=]        user → {"giftcards":[…] (bought, sent, received; "role"),"next"?}
//	GET  /giftcards?all=1[&status=&after=&limit=] admin → {"giftcards":[…] (every sale, with "buyer","claimer"),"next"?}
//	                                       (extension; a user's ?all or ?status answers 403 forbidden)
//	GET  /giftcards/{id}                   user (buyer or claimer) → {"giftcard"}
//	POST /giftcards/{id}/send              buyer → {"token","giftcard"} (a new token; the old one stops working)
//	POST /giftcards/{id}/revoke            buyer → {"giftcard"} (value to the buyer's wallet; extension)
//	POST /giftcards/claim {"token"}        user → {"giftcard"} (value to the claimer's wallet)
//
// Off (MINIFN_WALLET unset or off), every route answers 404 wallet_disabled.
var GiftCards = app.Spec{
	Name:   "giftcards",
	Routes: routes,
	Build: func(a *app.App) (platform.Function, error) {
		if !a.Config.Wallet.On() {
			off := httpapi.Func(func(http.ResponseWriter, *http.Request) error { return ErrDisabled })
			m := map[string]http.Handler{}
			for _, r := range routes {
				m[r] = off
			}
			return platform.Function{Handler: httpapi.RouterOf(m)}, nil
		}
		pc, err := paywire.Client(a)
		if err != nil {
			return platform.Function{}, err
		}
		ws := wallet.New(a.Store, wallet.Options{Pay: pc, Now: a.Now, TTL: a.Config.OrderTTL})
		gs := giftcard.New(a.Store, giftcard.Options{Pay: pc, Wallet: ws, Now: a.Now, TTL: a.Config.OrderTTL})
		m := map[string]http.Handler{}
		for r, h := range Handlers(gs) {
			if r == "GET /giftcards" {
				m[r] = a.Sessions.RequireAny(h) // the admin lists every sale
				continue
			}
			m[r] = a.Sessions.Require(h)
		}
		return platform.Function{Handler: httpapi.RouterOf(m)}, nil
	},
}

// Handlers returns the handlers by route, without their session middleware.
func Handlers(gs *giftcard.Service) map[string]httpapi.Func {
	return map[string]httpapi.Func{
		"POST /giftcards": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			var in struct {
				Amount  int64  `json:"amount"`
				Message string `json:"message"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			out, err := gs.Buy(r.Context(), openid, in.Amount, in.Message, r.Header.Get(idem.Header))
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, out.Replayed)
			httpapi.JSON(w, http.StatusCreated, map[string]any{"giftcard": out.Card, "payment": out.Payment})
			return nil
		},
		"GET /giftcards": func(w http.ResponseWriter, r *http.Request) error {
			limit, err := httpapi.IntParam(r, "limit", 20, 1, 100)
			if err != nil {
				return err
			}
			q := r.URL.Query()
			if session.IsAdmin(r.Context()) {
				list, next, err := gs.ListAll(r.Context(), q.Get("status"), q.Get("after"), limit)
				if err != nil {
					return err
				}
				httpapi.JSON(w, http.StatusOK, struct {
					GiftCards []giftcard.Sale `json:"giftcards"`
					Next      string          `json:"next,omitempty"`
				}{list, next})
				return nil
			}
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			if q.Has("all") || q.Has("status") {
				return errAdminOnly
			}
			list, next, err := gs.List(r.Context(), openid, q.Get("after"), limit)
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, struct {
				GiftCards []giftcard.Card `json:"giftcards"`
				Next      string          `json:"next,omitempty"`
			}{list, next})
			return nil
		},
		"GET /giftcards/{id}": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			c, err := gs.Get(r.Context(), openid, r.PathValue("id"))
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"giftcard": c})
			return nil
		},
		"POST /giftcards/{id}/send": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			token, c, err := gs.Send(r.Context(), openid, r.PathValue("id"))
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"token": token, "giftcard": c})
			return nil
		},
		"POST /giftcards/{id}/revoke": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			c, err := gs.Revoke(r.Context(), openid, r.PathValue("id"))
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"giftcard": c})
			return nil
		},
		"POST /giftcards/claim": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			var in struct {
				Token string `json:"token"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			if in.Token == "" {
				return apperr.Invalidf(`field "token" is required`)
			}
			c, err := gs.Claim(r.Context(), openid, in.Token)
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"giftcard": c})
			return nil
		},
	}
}
