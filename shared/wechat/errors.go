package wechat

import (
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
)

var (
	// ErrInvalidCode is returned when a login code is malformed, unknown,
	// expired or already used (errcode 40029): the Mini-Program should call
	// wx.login again.
	ErrInvalidCode = apperr.New(apperr.Invalid, "invalid_code",
		"the login code is invalid, expired or already used; call wx.login again")

	// ErrRateLimited is returned when WeChat answers 45011 (too many calls).
	ErrRateLimited = &apperr.Error{Kind: apperr.RateLimited, Code: "rate_limited",
		Message: "WeChat's rate limit was reached; retry in a minute", RetryAfter: time.Minute}

	// ErrLoginBlocked is returned when WeChat refuses a high-risk user's login (40226).
	ErrLoginBlocked = apperr.New(apperr.Forbidden, "login_blocked",
		"WeChat blocked this login for security reasons")

	// ErrUnavailable is returned when WeChat is busy (-1), times out, cannot be
	// reached, or answers 5xx or something that is not JSON.
	ErrUnavailable = apperr.New(apperr.Upstream, "wechat_unavailable",
		"WeChat is unavailable; try again")

	// ErrWeChat is returned for any other errcode; the message names it.
	ErrWeChat = apperr.New(apperr.Upstream, "wechat_error", "WeChat refused the call")

	// ErrNotConfigured is returned when the client lacks the appid, secret or store.
	ErrNotConfigured = apperr.New(apperr.Internal, "wechat_not_configured",
		"the WeChat client is not configured")
)

// byErrcode maps WeChat errcodes to minifn errors. Errcodes not listed
// become ErrWeChat with the errcode in the message.
var byErrcode = map[int]*apperr.Error{
	-1:    ErrUnavailable,  // system busy
	40029: ErrInvalidCode,  // invalid code (also: appid mismatch)
	45011: ErrRateLimited,  // minute quota, e.g. 100 logins per user per minute
	40226: ErrLoginBlocked, // high-risk user
}

// tokenRejected lists the errcodes that mean "this access_token is no good":
// invalid or not latest, invalid, expired.
var tokenRejected = map[int]bool{40001: true, 40014: true, 42001: true}

// APIError is an errcode WeChat answered. It is the cause (Err) of the
// *apperr.Error a call returns, for logs and for callers that must branch on
// an API-specific errcode (errors.As).
type APIError struct {
	Path    string
	Errcode int
	Errmsg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.Path, e.Errcode, e.Errmsg)
}

// errcodeError maps an errcode answer through byErrcode.
func errcodeError(cause *APIError) error {
	if e, ok := byErrcode[cause.Errcode]; ok {
		return e.Wrap(cause)
	}
	return ErrWeChat.WithMessage("WeChat answered errcode %d on %s", cause.Errcode, cause.Path).Wrap(cause)
}
