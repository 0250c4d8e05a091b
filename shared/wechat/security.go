package wechat

import (
	"context"
	"fmt"

	"github.com/minifn/minifn/shared/apperr"
)

// The security-centre APIs: getUserRiskRank (user risk control) and
// msgSecCheck v2 (text content security). Both need the user to have opened
// the Mini-Program in the last two hours (61010 otherwise), and both are
// asked per request: callers decide what an error means for their request
// (see shared/risk and shared/moderation, which fail open).

// Scenes of getUserRiskRank
// (https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/safety-control-capability/api_getuserriskrank.html).
const (
	RiskSceneRegister  = 0 // 注册
	RiskSceneMarketing = 1 // 营销作弊: coupon grabs, point farming
)

// RiskRankRequest is one getUserRiskRank call.
type RiskRankRequest struct {
	OpenID   string
	Scene    int    // RiskSceneRegister or RiskSceneMarketing; sent even when 0
	ClientIP string // required by WeChat: the user's address as the server saw it
	IsTest   bool   // a test call (limited quota: 9410009 when used up)
}

// RiskRank is getUserRiskRank's answer.
type RiskRank struct {
	Rank    int   // 0 (no risk) to 4 (highest)
	UnionID int64 // WeChat's id of this request, spelled unoin_id on the wire (sic)
}

var (
	// ErrUserNotActive is returned when the user has not opened the
	// Mini-Program in the last two hours (61010, "code is expired"), which
	// getUserRiskRank and msgSecCheck require of the openid they are given.
	ErrUserNotActive = apperr.New(apperr.Upstream, "wechat_user_not_active",
		"WeChat knows no visit of this user to the Mini-Program in the last two hours")

	// ErrInvalidOpenID is returned when WeChat does not know the openid
	// (40003) or it belongs to another app (43104).
	ErrInvalidOpenID = apperr.New(apperr.Upstream, "wechat_invalid_openid",
		"WeChat does not know this openid for this Mini-Program")

	// ErrTestQuota is returned when getUserRiskRank's test calls are used up (9410009).
	ErrTestQuota = apperr.New(apperr.Upstream, "wechat_test_quota",
		"WeChat's quota of test calls of getUserRiskRank is used up")
)

// securityErrs maps the errcodes the two APIs document; the rest (40129 bad
// scene, 47001 bad format: our bugs) go through byErrcode to ErrWeChat.
var securityErrs = map[int]*apperr.Error{
	61010:   ErrUserNotActive,
	40003:   ErrInvalidOpenID,
	43104:   ErrInvalidOpenID,
	48001:   ErrNoPermission, // getUserRiskRank is not enabled (安全中心 → 用户风控)
	9410009: ErrTestQuota,
}

// GetUserRiskRank asks WeChat how risky a user is (POST
// /wxa/getuserriskrank). The answer's request id is spelled "unoin_id" by
// WeChat, as its documentation shows; SDKs that decode "union_id" lose it.
// Returns ErrUserNotActive (61010), ErrInvalidOpenID (40003, 43104),
// ErrNoPermission (48001: not enabled), ErrTestQuota (9410009),
// ErrRateLimited, ErrUnavailable, ErrWeChat (also for a rank outside 0–4);
// invalid_request without an openid or client IP.
func (c *Client) GetUserRiskRank(ctx context.Context, req RiskRankRequest) (RiskRank, error) {
	if req.OpenID == "" || req.ClientIP == "" {
		return RiskRank{}, apperr.Invalidf("getuserriskrank needs an openid and the client's IP")
	}
	body := struct {
		AppID    string `json:"appid"`
		OpenID   string `json:"openid"`
		Scene    int    `json:"scene"`
		ClientIP string `json:"client_ip"`
		IsTest   bool   `json:"is_test,omitempty"`
	}{c.appID, req.OpenID, req.Scene, req.ClientIP, req.IsTest}
	var ans struct {
		RiskRank *int  `json:"risk_rank"`
		UnoinID  int64 `json:"unoin_id"`
	}
	if err := c.postJSON(ctx, "/wxa/getuserriskrank", body, &ans); err != nil {
		return RiskRank{}, remap(err, securityErrs)
	}
	if ans.RiskRank == nil || *ans.RiskRank < 0 || *ans.RiskRank > 4 {
		return RiskRank{}, ErrWeChat.WithMessage("WeChat answered getuserriskrank without a risk_rank of 0 to 4")
	}
	return RiskRank{Rank: *ans.RiskRank, UnionID: ans.UnoinID}, nil
}

// Scenes of msgSecCheck v2
// (https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_msgseccheck.html).
const (
	TextSceneProfile = 1 // 资料: nickname, signature
	TextSceneComment = 2 // 评论
	TextSceneForum   = 3 // 论坛
	TextSceneLog     = 4 // 社交日志
)

// Suggestions of msgSecCheck v2 (result.suggest).
const (
	SuggestPass   = "pass"
	SuggestReview = "review"
	SuggestRisky  = "risky"
)

// MaxTextCheck is the longest content msgSecCheck takes, in characters.
const MaxTextCheck = 2500

// TextCheck is one msgSecCheck call.
type TextCheck struct {
	OpenID    string // the author; must have opened the Mini-Program in the last two hours
	Scene     int    // TextScene…
	Content   string // at most MaxTextCheck characters
	Title     string // optional
	Nickname  string // optional
	Signature string // optional; scene 1 only
}

// TextVerdict is msgSecCheck's overall result.
type TextVerdict struct {
	Suggest string // SuggestPass, SuggestReview or SuggestRisky
	Label   int    // 100 normal, 10001 ad, 20001 politics, 20002 porn, 20003 abuse, 20006 illegal, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other
	TraceID string
}

// MsgSecCheck checks user-written text (POST /wxa/msg_sec_check, version
// 2). Version 2 answers errcode 0 for risky text too: the verdict is in
// result.suggest, which the caller must read. Returns ErrUserNotActive
// (61010), ErrInvalidOpenID (40003, 43104), ErrRateLimited, ErrUnavailable,
// ErrWeChat (also for an answer without a known suggest); invalid_request
// without an openid or content.
func (c *Client) MsgSecCheck(ctx context.Context, req TextCheck) (TextVerdict, error) {
	if req.OpenID == "" || req.Content == "" {
		return TextVerdict{}, apperr.Invalidf("msg_sec_check needs an openid and content")
	}
	body := struct {
		Content   string `json:"content"`
		Version   int    `json:"version"`
		Scene     int    `json:"scene"`
		OpenID    string `json:"openid"`
		Title     string `json:"title,omitempty"`
		Nickname  string `json:"nickname,omitempty"`
		Signature string `json:"signature,omitempty"`
	}{req.Content, 2, req.Scene, req.OpenID, req.Title, req.Nickname, req.Signature}
	var ans struct {
		TraceID string `json:"trace_id"`
		Result  struct {
			Suggest string `json:"suggest"`
			Label   int    `json:"label"`
		} `json:"result"`
	}
	if err := c.postJSON(ctx, "/wxa/msg_sec_check", body, &ans); err != nil {
		return TextVerdict{}, remap(err, securityErrs)
	}
	switch ans.Result.Suggest {
	case SuggestPass, SuggestReview, SuggestRisky:
	default:
		return TextVerdict{}, ErrWeChat.WithMessage("WeChat answered msg_sec_check with suggest %q", ans.Result.Suggest).
			Wrap(fmt.Errorf("wechat /wxa/msg_sec_check: suggest %q", ans.Result.Suggest))
	}
	return TextVerdict{Suggest: ans.Result.Suggest, Label: ans.Result.Label, TraceID: ans.TraceID}, nil
}
