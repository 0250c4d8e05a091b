// Package wxpushfn holds the function wx-push: WeChat's message push
// (消息推送) for the Mini-Program, with its HTTP handlers and the handlers
// of the events minifn acts on. The protocol (signatures, safe-mode
// decryption, handling each push once) is shared/wechat/push; docs/push.md
// says how to configure the push in the WeChat admin.
//
// This package links no QR images; it links the order package (and so the
// WeChat Pay client's types) for the shipping events, though it never calls
// WeChat Pay.
package wxpushfn

import (
	"errors"
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/wechat/push"
)

// WxPush receives WeChat's message pushes: GET /wx/push is the URL check,
// POST /wx/push a push (plain or safe mode, JSON).
var WxPush = app.Spec{
	Name:   "wx-push",
	Routes: []string{"GET /wx/push", "POST /wx/push"},
	Build: func(a *app.App) (platform.Function, error) {
		subs, err := a.Subscribe()
		if err != nil {
			return platform.Function{}, err
		}
		handlers := Handlers(subs)
		// The shipping management's events (trade_manage_*) are recorded on
		// their orders (shared/order/shipping.go); that needs only the
		// order records, not WeChat Pay.
		orders := order.New(a.Store, order.Options{Now: a.Now})
		for e, h := range orders.ShippingEventHandlers() {
			handlers[e] = push.Raw(h)
		}
		r, err := newReceiver(a, handlers)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /wx/push":  CheckURL(r),
			"POST /wx/push": Receive(r),
		})}, nil
	},
}

// newReceiver builds the push receiver of a's configuration (push.New, over
// a's store and clock), dispatching to handlers. Its errors are one line
// naming the variable: the token is required; an AES key (safe mode) must
// be 43 characters and needs the appid, which the encrypted pushes carry.
func newReceiver(a *app.App, handlers map[string]push.Handler) (*push.Receiver, error) {
	c := a.Config
	if c.WechatPushToken == "" {
		return nil, errors.New("MINIFN_WECHAT_PUSH_TOKEN is required by wx-push: the Token of the message push configuration")
	}
	o := push.Options{Token: string(c.WechatPushToken), AppID: c.WechatAppid, Handlers: handlers, Now: a.Now}
	if c.WechatPushAESKey != "" {
		k, err := push.ParseKey(string(c.WechatPushAESKey))
		if err != nil {
			return nil, errors.New("MINIFN_WECHAT_PUSH_AES_KEY " + err.Error())
		}
		if c.WechatAppid == "" {
			return nil, errors.New("MINIFN_WECHAT_APPID is required by wx-push in safe mode (MINIFN_WECHAT_PUSH_AES_KEY set): encrypted pushes carry it")
		}
		o.Key = k
	}
	return push.New(a.Store, o), nil
}
