// Package engagefn holds the engagement functions: qrcode (Mini-Program
// codes, their scenes and attribution) and points (loyalty points, codes
// and rewards), with their HTTP handlers.
package engagefn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/scene"
)

func sceneService(a *app.App) *scene.Service {
	stores := outlet.New(a.Store, outlet.Options{Now: a.Now})
	o := scene.Options{Now: a.Now, UserLimit: a.Config.Engage.QrcodeUserLimit,
		IsStaff: stores.IsStaff, // the staff role is package outlet's
		Stores:  stores}         // table codes: the admin or staff of that store (scene/table.go)
	if a.WeChat != nil {
		o.WeChat = a.WeChat
	}
	return scene.New(a.Store, o)
}

// QRCode makes Mini-Program codes, resolves scenes and reports attribution
// and the dashboard's daily counters.
//
//	POST /qrcode {"page","params",…}  user (share code) or admin → 200 the image, scene in X-Minifn-Scene
//	GET  /scenes/{scene}              public → 200 {"page","params"}
//	GET  /attribution                 admin → 200 {"by_scene":[…],"by_referrer":[…]}
//	GET  /stats[?days=N]              admin → 200 {"zone","days":[…]} (package stats)
var QRCode = app.Spec{
	Name:   "qrcode",
	Routes: []string{"POST /qrcode", "GET /scenes/{scene}", "GET /attribution", "GET /stats"},
	Build: func(a *app.App) (platform.Function, error) {
		if err := a.RequireWeChat(); err != nil {
			return platform.Function{}, err
		}
		sc := sceneService(a)
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"POST /qrcode":        a.Sessions.RequireAny(MakeCode(sc)),
			"GET /scenes/{scene}": GetScene(sc),
			"GET /attribution":    a.Sessions.RequireAdmin(Attribution(sc)),
			"GET /stats":          a.Sessions.RequireAdmin(Stats(a.Store, a.Now)), // the console's dashboard (package stats)
		})}, nil
	},
}

// Points runs loyalty points: scans, balance, rewards and redemptions.
//
//	GET  /points[?after=&limit=]        user → {"balance","ledger":[…],"next"?}
//	POST /points/scan {"code"}          user → 200 {"earned","balance"}; 409 already_used
//	POST /points/redeem {"reward_id"}   user → 201 {"redemption","balance"}; 409 insufficient_points / out_of_stock
//	POST /points/codes {"points","count"}  admin → 201 {"codes":[…]}
//	GET  /points/codes/{code}/qr[?size=]   admin → PNG QR code of the code
//	POST /rewards {"title","points","stock"}  admin → 201 {"reward"}
//	GET  /rewards                       user or admin → {"rewards":[…]}
//
// With MINIFN_RISK_RANK_MAX set, a scan by a caller WeChat rates too risky
// is refused 403 risk_refused before anything is credited.
var Points = app.Spec{
	Name: "points",
	Routes: []string{"GET /points", "POST /points/scan", "POST /points/redeem", "POST /points/codes",
		"GET /points/codes/{code}/qr", "POST /rewards", "GET /rewards"},
	Build: func(a *app.App) (platform.Function, error) {
		rk, err := a.Risk() // nil unless MINIFN_RISK_RANK_MAX is set
		if err != nil {
			return platform.Function{}, err
		}
		ps := points.New(a.Store, points.Options{Now: a.Now, PerYuan: a.Config.Engage.PointsPerYuan})
		user, admin := a.Sessions.Require, a.Sessions.RequireAdmin
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /points":                 user(pointsBalance(ps)),
			"POST /points/scan":           user(pointsScan(ps, rk)),
			"POST /points/redeem":         user(pointsRedeem(ps)),
			"POST /points/codes":          admin(pointsMint(ps)),
			"GET /points/codes/{code}/qr": admin(pointsCodeQR(ps)),
			"POST /rewards":               admin(rewardCreate(ps)),
			"GET /rewards":                a.Sessions.RequireAny(rewardList(ps)),
		})}, nil
	},
}
