package catalog

import (
	"net/http"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
)

// Login trades a wx.login code for a session token.
var Login = Spec{
	Name:   "login",
	Routes: []string{"POST /login"},
	Build: func(a *app.App) (platform.Function, error) {
		if err := a.RequireWeChat(); err != nil {
			return platform.Function{}, err
		}
		accounts := account.New(a.Store, a.WeChat, a.Now)
		login, err := a.RateLimit(app.RateActionLogin, httpapi.Login(accounts, a.Sessions, loginToucher(a)))
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: router(map[string]http.Handler{
			"POST /login": login,
		})}, nil
	},
}

// Me shows the caller's user record. (POST /me/phone joins it with the
// phone-number feature.)
var Me = Spec{
	Name:   "me",
	Routes: []string{"GET /me", "POST /me/phone", "POST /me/subscriptions"},
	Build: func(a *app.App) (platform.Function, error) {
		// Reading the profile calls no WeChat API: me runs without the
		// WeChat credentials.
		accounts := account.New(a.Store, nil, a.Now)
		phone, subs, err := meEngage(a, accounts) // engage.go
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: router(map[string]http.Handler{
			"GET /me":                a.Sessions.Require(httpapi.Me(accounts)),
			"POST /me/phone":         phone,
			"POST /me/subscriptions": subs,
		})}, nil
	},
}
