// Package moderation checks user-written text with WeChat's msgSecCheck
// (version 2) before it is stored, as WeChat's review requires of
// Mini-Programs that keep user-generated content.
//
// A check has three outcomes, from WeChat's result.suggest (version 2
// answers errcode 0 for risky text too: the suggestion is the verdict):
//
//   - pass: store the text.
//   - review: store it, flagged for the merchant (Verdict.Review, Reason "review").
//   - risky: refuse it: ErrRisky, 422 content_risky; nothing is stored.
//
// # When WeChat cannot answer
//
// WeChat may be unreachable, or refuse the call: 61010 for a user who has
// not opened the Mini-Program in the last two hours (a session token can
// outlive that). The text is then stored flagged for review with Reason
// "unchecked" and the failure logged at WARN (fail open): an order note is
// worth less than the order, and the merchant sees what was not checked.
// A Service without a WeChat client does the same (no call at all).
//
// Official page: https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_msgseccheck.html
package moderation

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/wechat"
)

// DefaultTimeout bounds one msgSecCheck call: the request waits for it.
const DefaultTimeout = 2 * time.Second

// Scenes (msgSecCheck's scene), re-exported for callers.
const (
	SceneProfile = wechat.TextSceneProfile
	SceneComment = wechat.TextSceneComment
	SceneForum   = wechat.TextSceneForum
	SceneLog     = wechat.TextSceneLog
)

// Reasons a text is flagged.
const (
	ReasonReview    = "review"    // WeChat suggested a human look at it
	ReasonUnchecked = "unchecked" // WeChat could not check it
)

// ErrRisky is returned when WeChat rates the text risky: it must not be stored.
var ErrRisky = apperr.New(apperr.Unprocessable, "content_risky",
	"WeChat's content security check refused this text; please reword it")

// Checker is the WeChat call the service needs (*wechat.Client).
type Checker interface {
	MsgSecCheck(ctx context.Context, req wechat.TextCheck) (wechat.TextVerdict, error)
}

// Service checks text. Its zero value (no WeChat) flags every text
// unchecked. It holds nothing in the store: New takes none.
type Service struct {
	o Options
}

// New returns the Service of o.
func New(o Options) *Service { return &Service{o: o} }

// Options are the client and settings of a Service.
type Options struct {
	WeChat  Checker       // nil: nothing is checked; every text is flagged unchecked
	Timeout time.Duration // DefaultTimeout when 0
}

// Verdict is what a storable text is.
type Verdict struct {
	Review bool   // the merchant should look at it
	Reason string // ReasonReview or ReasonUnchecked when Review
	Label  int    // WeChat's label when it answered (100: normal)
}

// Check checks text written by openid in scene. Empty (or blank) text
// passes without a call. Returns ErrRisky, or the context's error when the
// client gave up; never WeChat's errors (see the package doc).
func (s *Service) Check(ctx context.Context, openid string, scene int, text string) (Verdict, error) {
	if strings.TrimSpace(text) == "" {
		return Verdict{}, nil
	}
	if s == nil || s.o.WeChat == nil {
		return Verdict{Review: true, Reason: ReasonUnchecked}, nil
	}
	timeout := s.o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	v, err := s.o.WeChat.MsgSecCheck(cctx, wechat.TextCheck{OpenID: openid, Scene: scene, Content: text})
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		return Verdict{}, ctx.Err() // the client gave up: nothing to store
	case err != nil:
		slog.WarnContext(ctx, "moderation: msg_sec_check failed; text stored flagged unchecked", "err", err)
		return Verdict{Review: true, Reason: ReasonUnchecked}, nil
	case v.Suggest == wechat.SuggestRisky:
		slog.InfoContext(ctx, "moderation: risky text refused", "label", v.Label, "trace_id", v.TraceID)
		return Verdict{}, ErrRisky
	case v.Suggest == wechat.SuggestReview:
		return Verdict{Review: true, Reason: ReasonReview, Label: v.Label}, nil
	}
	return Verdict{Label: v.Label}, nil
}
