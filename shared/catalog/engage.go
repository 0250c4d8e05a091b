package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/kelseyhightower/envconfig"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/subscribe"
	"github.com/minifn/minifn/shared/wechat"
)

// engageConfig is the engagement features' configuration (docs/engagement.md).
type engageConfig struct {
	PointsPerYuan         int64  `split_words:"true" default:"1" desc:"points a paid order earns per yuan; 0: none"`
	QrcodeUserLimit       int    `split_words:"true" default:"30" desc:"new share codes a user may make per hour"`
	SubscribePaidTemplate string `split_words:"true" desc:"template id of the order-paid subscribe message; unset: none"`
	SubscribePaidFields   string `split_words:"true" desc:"template key=order field pairs: order_id, title, total, paid_at"`
	SubscribePaidPage     string `split_words:"true" default:"pages/order/detail?id={order_id}" desc:"page the message opens"`
	SubscribeState        string `split_words:"true" default:"formal" desc:"miniprogram_state: developer, trial or formal"`
}

func loadEngage() (engageConfig, error) {
	var c engageConfig
	if err := envconfig.Process(app.Prefix, &c); err != nil {
		return c, fmt.Errorf("engagement configuration: %w", err)
	}
	if c.PointsPerYuan < 0 || c.PointsPerYuan > 10_000 {
		return c, fmt.Errorf("MINIFN_POINTS_PER_YUAN must be 0 to 10000")
	}
	return c, nil
}

func sceneService(a *app.App, c engageConfig) *scene.Service {
	s := &scene.Service{Store: a.Store, Now: a.Now, UserLimit: c.QrcodeUserLimit,
		IsStaff: couponService(a).IsStaff}
	if a.WeChat != nil {
		s.WeChat = a.WeChat
	}
	return s
}

func pointsService(a *app.App, c engageConfig) *points.Service {
	return &points.Service{Store: a.Store, Now: a.Now, PerYuan: c.PointsPerYuan}
}

func subscribeService(a *app.App, c engageConfig) (*subscribe.Service, error) {
	s := &subscribe.Service{Store: a.Store, Now: a.Now, PaidTemplate: c.SubscribePaidTemplate,
		PaidPage: c.SubscribePaidPage, State: c.SubscribeState}
	if c.SubscribePaidFields != "" {
		f, err := subscribe.ParseFields(c.SubscribePaidFields)
		if err != nil {
			return nil, fmt.Errorf("MINIFN_SUBSCRIBE_PAID_FIELDS: %w", err)
		}
		s.PaidFields = f
	}
	if a.WeChat != nil {
		s.WeChat = a.WeChat
	}
	return s, nil
}

// QRCode makes Mini-Program codes, resolves scenes and reports attribution.
var QRCode = Spec{
	Name:   "qrcode",
	Routes: []string{"POST /qrcode", "GET /scenes/{scene}", "GET /attribution"},
	Build: func(a *app.App) (platform.Function, error) {
		c, err := loadEngage()
		if err != nil {
			return platform.Function{}, err
		}
		if err := a.RequireWeChat(); err != nil {
			return platform.Function{}, err
		}
		sc := sceneService(a, c)
		return platform.Function{Handler: router(map[string]http.Handler{
			"POST /qrcode":        a.Sessions.RequireAny(httpapi.MakeCode(sc)),
			"GET /scenes/{scene}": httpapi.GetScene(sc),
			"GET /attribution":    a.Sessions.RequireAdmin(httpapi.Attribution(sc)),
		})}, nil
	},
}

// Points runs loyalty points: scans, balance, rewards and redemptions.
var Points = Spec{
	Name: "points",
	Routes: []string{"GET /points", "POST /points/scan", "POST /points/redeem", "POST /points/codes",
		"GET /points/codes/{code}/qr", "POST /rewards", "GET /rewards"},
	Build: func(a *app.App) (platform.Function, error) {
		c, err := loadEngage()
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: httpapi.Points(pointsService(a, c), a.Sessions)}, nil
	},
}

// noWeChat answers phone requests when the WeChat client is not configured
// (me otherwise runs without it).
type noWeChat struct{}

func (noWeChat) GetPhoneNumber(context.Context, string, string) (wechat.PhoneInfo, error) {
	return wechat.PhoneInfo{}, wechat.ErrNotConfigured
}

// meEngage returns the handlers the engagement features add to me.
func meEngage(a *app.App, accounts *account.Service) (phone, subs http.Handler, err error) {
	c, err := loadEngage()
	if err != nil {
		return nil, nil, err
	}
	ss, err := subscribeService(a, c)
	if err != nil {
		return nil, nil, err
	}
	var phones account.Phones = noWeChat{}
	appID := ""
	if a.WeChat != nil {
		phones, appID = a.WeChat, a.WeChat.AppID()
	}
	return a.Sessions.Require(httpapi.MePhone(accounts, phones, appID)),
		a.Sessions.Require(httpapi.Subscriptions(ss)), nil
}

// loginToucher records the scene and referrer a login carries.
func loginToucher(a *app.App) httpapi.Toucher {
	return &scene.Service{Store: a.Store, Now: a.Now}
}

// logHookErr logs what a paid hook could not do; see paidHooks.
func logHookErr(ctx context.Context, what, orderID string, err error) {
	if err != nil {
		slog.WarnContext(ctx, "order paid: "+what+" failed", "order", orderID, "err", err)
	}
}

// paidHooks is what happens when an order is paid: points (once per
// transaction), attribution counters (once per order), the subscribe
// message (once per order, best effort).
type paidHooks struct {
	points *points.Service
	scenes *scene.Service
	subs   *subscribe.Service
}

func (h paidHooks) OrderPaid(ctx context.Context, owner string, o order.Order) error {
	if _, err := h.points.CreditOrder(ctx, owner, o.ID, o.TransactionID, o.Total); err != nil {
		return err
	}
	if err := h.scenes.OrderPaid(ctx, owner, o.ID, scene.Touch{Scene: o.Scene, Referrer: o.Referrer}, o.Total); err != nil {
		return err
	}
	p := subscribe.Paid{OpenID: owner, OrderID: o.ID, Total: o.Total}
	if len(o.Items) > 0 {
		p.Title = o.Items[0].Title
	}
	if o.PaidAt != nil {
		p.PaidAt = *o.PaidAt
	}
	// A message that could not be sent must not fail the payment.
	_, err := h.subs.OrderPaid(ctx, p)
	logHookErr(ctx, "subscribe message", o.ID, err)
	return nil
}

// paidHook builds the order service's PaidHook.
func paidHook(a *app.App) (order.PaidHook, error) {
	c, err := loadEngage()
	if err != nil {
		return nil, err
	}
	subs, err := subscribeService(a, c)
	if err != nil {
		return nil, err
	}
	return paidHooks{points: pointsService(a, c), scenes: &scene.Service{Store: a.Store, Now: a.Now}, subs: subs}, nil
}
