package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/scene"
)

// Attribution serves GET /attribution (admin): users and paid orders by
// scene and by referrer.
func Attribution(sc *scene.Service) Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		sum, err := sc.Summarize(r.Context())
		if err != nil {
			return err
		}
		JSON(w, http.StatusOK, sum)
		return nil
	}
}

// Toucher records where a user came from (*scene.Service).
type Toucher interface {
	FirstTouch(ctx context.Context, openid string, t scene.Touch) (scene.Touch, error)
}

// recordTouch keeps the first scene and referrer of a login on the user.
// It never fails a login: attribution is worth less than signing in.
func recordTouch(ctx context.Context, tc Toucher, accounts *account.Service, u account.User, t scene.Touch) {
	if tc == nil || (t.Scene == "" && t.Referrer == "") || u.Scene != "" || u.Referrer != "" {
		return
	}
	first, err := tc.FirstTouch(ctx, u.OpenID, t)
	if err == nil && (first.Scene != "" || first.Referrer != "") {
		_, err = accounts.Update(ctx, u.OpenID, func(p *account.User) error {
			if p.Scene == "" && p.Referrer == "" {
				p.Scene, p.Referrer = first.Scene, first.Referrer
			}
			return nil
		})
	}
	if err != nil {
		slog.WarnContext(ctx, "login: recording the scene failed", "openid", u.OpenID, "err", err)
	}
}
