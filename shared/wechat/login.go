package wechat

import (
	"context"
	"net/http"
	"net/url"
)

// maxCodeLen bounds a wx.login code; real ones are 32 to 64 characters.
const maxCodeLen = 128

// Code2Session exchanges a wx.login code for the user's openid, unionid and
// session_key (GET /sns/jscode2session). Returns ErrInvalidCode (malformed
// codes are refused without a call), ErrRateLimited, ErrLoginBlocked,
// ErrUnavailable or ErrWeChat.
func (c *Client) Code2Session(ctx context.Context, code string) (Session, error) {
	if !validCode(code) {
		return Session{}, ErrInvalidCode.WithMessage("the login code is malformed; send the code from wx.login")
	}
	if c.appID == "" || c.secret == "" {
		return Session{}, ErrNotConfigured.WithMessage("the WeChat appid or secret is not set")
	}
	const path = "/sns/jscode2session"
	q := url.Values{"appid": {c.appID}, "secret": {c.secret}, "js_code": {code},
		"grant_type": {"authorization_code"}}
	_, data, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return Session{}, err
	}
	var ans struct {
		OpenID     string `json:"openid"`
		UnionID    string `json:"unionid"`
		SessionKey string `json:"session_key"`
	}
	if err := c.decodeJSON(path, data, &ans); err != nil {
		return Session{}, err
	}
	if ans.OpenID == "" || ans.SessionKey == "" {
		return Session{}, ErrWeChat.WithMessage("WeChat answered code2Session without openid or session_key")
	}
	return Session{OpenID: ans.OpenID, UnionID: ans.UnionID, SessionKey: ans.SessionKey}, nil
}

// validCode accepts 1 to maxCodeLen characters of [0-9A-Za-z_-].
func validCode(code string) bool {
	if code == "" || len(code) > maxCodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		switch b := code[i]; {
		case '0' <= b && b <= '9', 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}
