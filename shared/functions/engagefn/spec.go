// Package engagefn holds the engagement functions: qrcode (Mini-Program
// codes, their scenes and attribution) and points (loyalty points, codes
// and rewards), with their HTTP handlers.
package engagefn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/scene"
)

func sceneService(a *app.App, c app.Engage) *scene.Service {
	s := &scene.Service{Store: a.Store, Now: a.Now, UserLimit: c.QrcodeUserLimit,
		IsStaff: coupon.New(a.Store, coupon.Options{Now: a.Now}).IsStaff}
	if a.WeChat != nil {
		s.WeChat = a.WeChat
	}
	return s
}

func pointsService(a *app.App, c app.Engage) *points.Service {
	return &points.Service{Store: a.Store, Now: a.Now, PerYuan: c.PointsPerYuan}
}

// QRCode makes Mini-Program codes, resolves scenes and reports attribution
// and the dashboard's daily counters.
var QRCode = app.Spec{
	Name:   "qrcode",
	Routes: []string{"POST /qrcode", "GET /scenes/{scene}", "GET /attribution", "GET /stats"},
	Build: func(a *app.App) (platform.Function, error) {
		c, err := app.LoadEngage()
		if err != nil {
			return platform.Function{}, err
		}
		if err := a.RequireWeChat(); err != nil {
			return platform.Function{}, err
		}
		sc := sceneService(a, c)
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /qrcode":        a.Sessions.RequireAny(MakeCode(sc)),
			"GET /scenes/{scene}": GetScene(sc),
			"GET /attribution":    a.Sessions.RequireAdmin(Attribution(sc)),
			"GET /stats":          a.Sessions.RequireAdmin(Stats(a.Store, a.Now)), // the console's dashboard (package stats)
		})}, nil
	},
}

// Points runs loyalty points: scans, balance, rewards and redemptions.
var Points = app.Spec{
	Name: "points",
	Routes: []string{"GET /points", "POST /points/scan", "POST /points/redeem", "POST /points/codes",
		"GET /points/codes/{code}/qr", "POST /rewards", "GET /rewards"},
	Build: func(a *app.App) (platform.Function, error) {
		c, err := app.LoadEngage()
		if err != nil {
			return platform.Function{}, err
		}
		rk, err := a.Risk() // nil unless MINIFN_RISK_RANK_MAX is set
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: PointsHandler(pointsService(a, c), rk, a.Sessions)}, nil
	},
}
