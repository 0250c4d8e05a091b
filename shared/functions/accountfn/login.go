package accountfn

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/session"
)

// loginRequest is the body of POST /login.
type loginRequest struct {
	Code string `json:"code"` // from wx.login
	// Scene and Referrer say where the user came from (options.scene of the
	// launch, a share's referrer); the first ones are kept on the user.
	Scene    string `json:"scene,omitempty"`
	Referrer string `json:"referrer,omitempty"`
}

// loginResponse is the answer of POST /login. It never carries the WeChat
// session_key: that stays in the store (see package account).
type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	OpenID    string    `json:"openid"`
}

// LoginHandler serves POST /login {"code"}: it trades a wx.login code for a
// session token. 400 invalid_request for a missing code, 400 invalid_code
// for a used, expired or unknown one, 403 login_blocked, 429 rate_limited,
// 502 wechat_unavailable. With a Toucher, a scene and referrer sent along
// are recorded as the user's first (never failing the login).
func LoginHandler(accounts *account.Service, sessions *session.Sessions, touches ...Toucher) http.Handler {
	return httpapi.Func(func(w http.ResponseWriter, r *http.Request) error {
		var req loginRequest
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		u, err := accounts.Login(r.Context(), req.Code)
		if err != nil {
			return err
		}
		accesslog.SetUser(r.Context(), u.OpenID)
		if err := ratelimit.CountOpenID(r.Context(), u.OpenID); err != nil { // MINIFN_RATE_LOGIN's openid limit
			return err
		}
		for _, tc := range touches {
			recordTouch(r.Context(), tc, accounts, u, scene.Touch{Scene: req.Scene, Referrer: req.Referrer})
		}
		token, exp := sessions.Issue(u.OpenID)
		httpapi.JSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: exp, OpenID: u.OpenID})
		return nil
	})
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
		slog.WarnContext(ctx, "login: recording the scene failed", "user", accesslog.HashOpenID(u.OpenID), "err", err)
	}
}
