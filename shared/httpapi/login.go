package httpapi

import (
	"net/http"
	"time"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/session"
)

// loginRequest is the body of POST /login.
type loginRequest struct {
	Code string `json:"code"` // from wx.login
}

// loginResponse is the answer of POST /login. It never carries the WeChat
// session_key: that stays in the store (see package account).
type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	OpenID    string    `json:"openid"`
}

// Login serves POST /login {"code"}: it trades a wx.login code for a
// session token. 400 invalid_request for a missing code, 400 invalid_code
// for a used, expired or unknown one, 403 login_blocked, 429 rate_limited,
// 502 wechat_unavailable.
func Login(accounts *account.Service, sessions *session.Sessions) http.Handler {
	return Func(func(w http.ResponseWriter, r *http.Request) error {
		var req loginRequest
		if err := Decode(r, &req); err != nil {
			return err
		}
		u, err := accounts.Login(r.Context(), req.Code)
		if err != nil {
			return err
		}
		token, exp := sessions.Issue(u.OpenID)
		JSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: exp, OpenID: u.OpenID})
		return nil
	})
}
