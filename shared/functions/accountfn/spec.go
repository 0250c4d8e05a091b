// Package accountfn holds the user functions: login (a wx.login code for a
// session token) and me (the caller's profile, phone number and subscribe
// message credits), with their HTTP handlers.
package accountfn

import (
	"context"
	"net/http"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/wechat"
)

// Login trades a wx.login code for a session token.
var Login = app.Spec{
	Name:   "login",
	Routes: []string{"POST /login"},
	Build: func(a *app.App) (platform.Function, error) {
		if err := a.RequireWeChat(); err != nil {
			return platform.Function{}, err
		}
		accounts := account.New(a.Store, account.Options{WeChat: a.WeChat, Now: a.Now})
		// The scene service records the scene and referrer a login carries.
		touches := scene.New(a.Store, scene.Options{Now: a.Now})
		// Limited by source IP before the handler, by openid once it knows it.
		limit := a.RateLimit(app.RateActionLogin)
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /login": limit(LoginHandler(accounts, a.Sessions, touches)),
		})}, nil
	},
}

// Me shows the caller's user record, takes their phone number and their
// subscribe message credits.
var Me = app.Spec{
	Name:   "me",
	Routes: []string{"GET /me", "POST /me/phone", "POST /me/subscriptions"},
	Build: func(a *app.App) (platform.Function, error) {
		// Reading the profile calls no WeChat API: me runs without the
		// WeChat credentials.
		accounts := account.New(a.Store, account.Options{Now: a.Now})
		subs, err := a.Subscribe()
		if err != nil {
			return platform.Function{}, err
		}
		user := a.Sessions.Require
		var phones account.Phones = noWeChat{}
		appID := ""
		if a.WeChat != nil {
			phones, appID = a.WeChat, a.WeChat.AppID()
		}
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /me":                user(MeHandler(accounts)),
			"POST /me/phone":         user(MePhone(accounts, phones, appID)),
			"POST /me/subscriptions": user(Subscriptions(subs)),
		})}, nil
	},
}

// noWeChat answers phone requests when the WeChat client is not configured
// (me otherwise runs without it).
type noWeChat struct{}

func (noWeChat) GetPhoneNumber(context.Context, string, string) (wechat.PhoneInfo, error) {
	return wechat.PhoneInfo{}, wechat.ErrNotConfigured
}
