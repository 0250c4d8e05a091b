// Package memberfn holds the members function (membership tiers: the
// caller's tier and growth; the merchant's tiers) with its HTTP handlers.
// Growth is kept by the order functions (package member's GrowthOp in the
// order's paid and refund Writes); this function only reads it.
package memberfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/member"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/session"
)

// Members serves membership.
//
//	GET /members/me          user → {"member":{"tier","growth","next_tier"?}}
//	GET /tiers               user or admin → {"tiers":[…]}
//	PUT /tiers {"tiers":[…]} admin → {"tiers":[…]}
var Members = app.Spec{
	Name:   "members",
	Routes: []string{"GET /members/me", "GET /tiers", "PUT /tiers"},
	Build: func(a *app.App) (platform.Function, error) {
		h := Handlers(member.New(a.Store, member.Options{Now: a.Now}))
		return platform.Function{Handler: httpapi.RouterOf(map[string]http.Handler{
			"GET /members/me": a.Sessions.Require(h["GET /members/me"]),
			"GET /tiers":      a.Sessions.RequireAny(h["GET /tiers"]),
			"PUT /tiers":      a.Sessions.RequireAdmin(h["PUT /tiers"]),
		})}, nil
	},
}

// Handlers returns the members function's handlers by route, without their
// session middleware (Members.Build adds it).
func Handlers(ms *member.Service) map[string]httpapi.Func {
	return map[string]httpapi.Func{
		"GET /members/me": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			m, err := ms.Get(r.Context(), openid)
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"member": m})
			return nil
		},
		"GET /tiers": func(w http.ResponseWriter, r *http.Request) error {
			tiers, err := ms.Tiers(r.Context())
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"tiers": tiers})
			return nil
		},
		"PUT /tiers": func(w http.ResponseWriter, r *http.Request) error {
			var in struct {
				Tiers []member.Tier `json:"tiers"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			tiers, err := ms.SetTiers(r.Context(), in.Tiers)
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"tiers": tiers})
			return nil
		},
	}
}
