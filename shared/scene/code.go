package scene

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// ReferrerParam is the param a user's share code carries their referrer id
// in (ReferrerID: never the openid, since anyone may read a scene's params).
const ReferrerParam = "referrer"

// Color is a line colour, 0 to 255 per component.
type Color struct {
	R uint8 `json:"r"`
	G uint8 `json:"g"`
	B uint8 `json:"b"`
}

// CodeRequest is a request for a Mini-Program code (POST /qrcode).
type CodeRequest struct {
	Page       string `json:"page"`
	Params     Params `json:"params"`
	Width      int    `json:"width,omitempty"`       // 280 to 1280; 0: 430
	EnvVersion string `json:"env_version,omitempty"` // release (default), trial, develop
	CheckPath  *bool  `json:"check_path,omitempty"`  // nil: true for release, false otherwise
	AutoColor  bool   `json:"auto_color,omitempty"`
	LineColor  *Color `json:"line_color,omitempty"`
	IsHyaline  bool   `json:"is_hyaline,omitempty"`
}

// Caller is who asks for a code.
type Caller struct {
	OpenID string // a user (maybe staff); "" for the admin
	Admin  bool
}

// Code is a made (or cached) Mini-Program code.
type Code struct {
	Scene  string
	Image  wechat.Image
	Cached bool // served from the store: WeChat was not called
}

var (
	// ErrNoCaller is returned when a share code is asked with neither a
	// user nor the admin as the caller.
	ErrNoCaller = apperr.New(apperr.Unauthenticated, "unauthenticated", "a user or the admin is required")
	// ErrForbidden is returned when a user asks for what only staff may make
	// (another env_version, check_path false).
	ErrForbidden = apperr.New(apperr.Forbidden, "forbidden",
		"users may only make share codes of published pages (env_version release, check_path true)")
	// ErrRateLimited is returned when a user made too many codes in the window.
	ErrRateLimited = apperr.New(apperr.RateLimited, "rate_limited", "too many share codes; try again later")
	// ErrNoWeChat is returned by Code when the service has no WeChat client.
	ErrNoWeChat = apperr.New(apperr.Internal, "wechat_not_configured", "the WeChat client is not configured")
)

// Code returns the image of the code for req: from the cache when it was
// made before, else from WeChat (then cached). Users get share codes only
// (see the package doc). Returns invalid_request errors, ErrForbidden,
// ErrRateLimited, the wechat package's errors (ErrInvalidPage,
// ErrInvalidScene, ErrCodeQuota, …), store errors.
func (s *Service) Code(ctx context.Context, c Caller, req CodeRequest) (Code, error) {
	if s.o.WeChat == nil {
		return Code{}, ErrNoWeChat
	}
	privileged, err := s.privileged(ctx, c)
	if err != nil {
		return Code{}, err
	}
	if wantsTable(req.Params) { // table.go: the admin or staff of that store only
		if err := s.checkTableCode(ctx, c, req.Params); err != nil {
			return Code{}, err
		}
		privileged = true
	}
	rid := ""
	if !privileged {
		if rid, err = s.ReferrerID(ctx, c.OpenID); err != nil {
			return Code{}, err
		}
	}
	wr, e, err := s.prepare(rid, privileged, req)
	if err != nil {
		return Code{}, err
	}
	// A code made before is served without a WeChat call and without
	// counting against the user's limit.
	if sc, err := s.find(ctx, e); err != nil {
		return Code{}, err
	} else if sc != "" {
		wr.Scene = sc
		if img, ok, err := s.cached(ctx, wr); err != nil || ok {
			return Code{Scene: sc, Image: img, Cached: ok}, err
		}
	}
	if !privileged {
		if err := s.allow(ctx, c.OpenID); err != nil {
			return Code{}, err
		}
	}
	if wr.Scene, err = s.Encode(ctx, e); err != nil {
		return Code{}, err
	}
	img, err := s.o.WeChat.GetUnlimited(ctx, wr)
	if err != nil {
		return Code{}, err
	}
	// A failed cache write costs a WeChat call next time, not this answer.
	_ = s.cache(ctx, wr, img)
	return Code{Scene: wr.Scene, Image: img}, nil
}

func (s *Service) privileged(ctx context.Context, c Caller) (bool, error) {
	switch {
	case c.Admin:
		return true, nil
	case c.OpenID == "":
		return false, ErrNoCaller
	case s.o.IsStaff == nil:
		return false, nil
	}
	return s.o.IsStaff(ctx, c.OpenID)
}

// prepare validates req and returns the WeChat request (without its scene)
// and the scene entry. A user's params get their referrer id (rid).
func (s *Service) prepare(rid string, privileged bool, req CodeRequest) (wechat.UnlimitedRequest, Entry, error) {
	wr := wechat.UnlimitedRequest{Page: req.Page, EnvVersion: req.EnvVersion, Width: req.Width,
		AutoColor: req.AutoColor, IsHyaline: req.IsHyaline}
	if wr.EnvVersion == "" {
		wr.EnvVersion = wechat.EnvRelease
	}
	if wr.Width == 0 {
		wr.Width = wechat.DefaultCodeWidth
	}
	// Only the release version can be checked against published pages.
	wr.CheckPath = wr.EnvVersion == wechat.EnvRelease
	if req.CheckPath != nil {
		wr.CheckPath = *req.CheckPath
	}
	if req.LineColor != nil && !req.AutoColor {
		wr.LineColor = &wechat.RGB{R: req.LineColor.R, G: req.LineColor.G, B: req.LineColor.B}
	}
	switch {
	case wr.EnvVersion != wechat.EnvRelease && wr.EnvVersion != wechat.EnvTrial && wr.EnvVersion != wechat.EnvDevelop:
		return wr, Entry{}, apperr.Invalidf(`field "env_version" must be release, trial or develop`)
	case wr.Width < wechat.MinCodeWidth || wr.Width > wechat.MaxCodeWidth:
		return wr, Entry{}, apperr.Invalidf(`field "width" must be %d to %d`, wechat.MinCodeWidth, wechat.MaxCodeWidth)
	case !privileged && (wr.EnvVersion != wechat.EnvRelease || !wr.CheckPath):
		return wr, Entry{}, ErrForbidden
	}
	e := Entry{Page: req.Page, Params: Params{}}
	for k, v := range req.Params {
		e.Params[k] = v
	}
	if !privileged {
		e.Params[ReferrerParam] = rid
	}
	return wr, e, e.Validate()
}

// allow counts one new code against the user's limit in the current window,
// on a ratelimit.Limiter of its own action ("qrcode"), so that the window
// keys are the ratelimit package's. Over the limit it returns ErrRateLimited
// with the limiter's Retry-After.
func (s *Service) allow(ctx context.Context, openid string) error {
	limit, window := s.o.UserLimit, s.o.UserWindow
	if limit <= 0 {
		limit = DefaultUserLimit
	}
	if window <= 0 {
		window = DefaultUserWindow
	}
	l := ratelimit.New(s.st, ratelimit.Options{Action: limiterAction, Rules: ratelimit.Rules{OpenID: ratelimit.Rule{Limit: int64(limit), Window: window}}, Now: s.now})
	err := l.Allow(ctx, "", openid)
	if errors.Is(err, ratelimit.ErrLimited) {
		return ErrRateLimited.WithMessage("at most %d new share codes per %v; try again later", limit, window).
			WithRetryAfter(apperr.From(err).RetryAfter)
	}
	return err
}

// limiterAction names the share-code limit's counters in the ratelimit
// package's keys.
const limiterAction = "qrcode"

// imageKey covers everything that shapes the image.
func imageKey(r wechat.UnlimitedRequest) store.Key {
	lc := "-"
	if r.LineColor != nil && !r.AutoColor {
		lc = fmt.Sprintf("%d,%d,%d", r.LineColor.R, r.LineColor.G, r.LineColor.B)
	}
	id := fmt.Sprintf("v1\x00%s\x00%s\x00%d\x00%s\x00%t\x00%t\x00%s\x00%t",
		r.Page, r.Scene, r.Width, r.EnvVersion, r.CheckPath, r.AutoColor, lc, r.IsHyaline)
	h := sha256.Sum256([]byte(id))
	return store.Key{PK: "scene#img#" + hex.EncodeToString(h[:16]), SK: "img"}
}

func (s *Service) cached(ctx context.Context, r wechat.UnlimitedRequest) (wechat.Image, bool, error) {
	it, err := s.st.Get(ctx, imageKey(r))
	if errors.Is(err, store.ErrNotFound) {
		return wechat.Image{}, false, nil
	}
	if err != nil {
		return wechat.Image{}, false, err
	}
	ct, data, ok := bytes.Cut(it.Value, []byte("\n"))
	if !ok {
		return wechat.Image{}, false, nil // unreadable: make it again
	}
	return wechat.Image{ContentType: string(ct), Data: data}, true, nil
}

func (s *Service) cache(ctx context.Context, r wechat.UnlimitedRequest, img wechat.Image) error {
	if len(img.Data) > MaxCachedImage {
		return nil
	}
	v := make([]byte, 0, len(img.ContentType)+1+len(img.Data))
	v = append(append(append(v, img.ContentType...), '\n'), img.Data...)
	return s.st.Write(ctx, store.Put(store.Item{Key: imageKey(r), Value: v,
		ExpiresAt: s.now().Add(CacheTTL).Truncate(time.Second)}))
}
