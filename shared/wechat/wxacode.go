package wechat

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
)

// Env versions of a Mini-Program code (env_version).
const (
	EnvRelease = "release"
	EnvTrial   = "trial"
	EnvDevelop = "develop"
)

// Width bounds of a Mini-Program code, in pixels (WeChat's documented range).
const (
	MinCodeWidth     = 280
	MaxCodeWidth     = 1280
	DefaultCodeWidth = 430
)

// RGB is a line colour of a Mini-Program code. WeChat wants the components as
// decimal strings ({"r":"0","g":"0","b":"0"}), as its documentation shows.
type RGB struct {
	R, G, B uint8
}

// UnlimitedRequest is a getUnlimited (wxacode.getUnlimited) request. The
// zero value of CheckPath is false: callers say what they mean, and the
// client always sends both check_path and env_version explicitly, so that a
// Go zero value never silently becomes WeChat's default (or the other way).
type UnlimitedRequest struct {
	Scene      string // 1 to 32 characters of [0-9A-Za-z!#$&'()*+,/:;=?@-._~]
	Page       string // no leading '/', no query; "" is the home page
	CheckPath  bool   // true: the page must exist in the published version
	EnvVersion string // release (when empty), trial or develop
	Width      int    // 0: DefaultCodeWidth
	AutoColor  bool
	LineColor  *RGB // nil: black (ignored with AutoColor)
	IsHyaline  bool // transparent background (PNG)
}

// Image is a Mini-Program code as WeChat returned it.
type Image struct {
	ContentType string // as WeChat labelled it: image/jpeg, image/png
	Data        []byte
}

var (
	// ErrInvalidPage is returned when WeChat does not know the page in the
	// published version (41030) while check_path is true.
	ErrInvalidPage = apperr.New(apperr.Invalid, "invalid_page",
		"WeChat does not know this page in the published Mini-Program; publish it or set check_path false")
	// ErrInvalidScene is returned for a scene WeChat refuses (40169, 40129).
	ErrInvalidScene = apperr.New(apperr.Invalid, "invalid_scene",
		"WeChat refused the scene: 1 to 32 characters of [0-9A-Za-z!#$&'()*+,/:;=?@-._~]")
	// ErrInvalidEnvVersion is returned for an env_version WeChat refuses (40097).
	ErrInvalidEnvVersion = apperr.New(apperr.Invalid, "invalid_env_version",
		"env_version must be release, trial or develop")
	// ErrCodeQuota is returned when WeChat's code quota is used up (45009:
	// 5,000 calls a minute for getUnlimited).
	ErrCodeQuota = &apperr.Error{Kind: apperr.RateLimited, Code: "wechat_quota",
		Message: "WeChat's quota for Mini-Program codes is used up; retry in a minute", RetryAfter: time.Minute}
	// ErrNoPermission is returned when the Mini-Program may not make codes
	// (45063, 48001): a merchant configuration problem, so a 502.
	ErrNoPermission = apperr.New(apperr.Upstream, "wechat_no_permission",
		"the Mini-Program has no permission for this WeChat API")
)

// wxacodeErrs maps getUnlimited's own errcodes; the rest go through byErrcode.
var wxacodeErrs = map[int]*apperr.Error{
	41030: ErrInvalidPage,
	40169: ErrInvalidScene,
	40129: ErrInvalidScene, // community reports: scene with a character WeChat refuses
	40097: ErrInvalidEnvVersion,
	45009: ErrCodeQuota,
	45063: ErrNoPermission,
	48001: ErrNoPermission,
}

// remap replaces the generic mapping of an errcode listed in table.
func remap(err error, table map[int]*apperr.Error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		if e, ok := table[ae.Errcode]; ok {
			return e.Wrap(ae)
		}
	}
	return err
}

type rgbJSON struct {
	R string `json:"r"`
	G string `json:"g"`
	B string `json:"b"`
}

// unlimitedBody is the JSON body of getwxacodeunlimit. check_path,
// env_version, width, auto_color and is_hyaline have no omitempty: they are
// always sent.
type unlimitedBody struct {
	Scene      string   `json:"scene"`
	Page       string   `json:"page,omitempty"`
	CheckPath  bool     `json:"check_path"`
	EnvVersion string   `json:"env_version"`
	Width      int      `json:"width"`
	AutoColor  bool     `json:"auto_color"`
	LineColor  *rgbJSON `json:"line_color,omitempty"`
	IsHyaline  bool     `json:"is_hyaline"`
}

// GetUnlimited makes a Mini-Program code (POST /wxa/getwxacodeunlimit). The
// answer is the image on success and JSON {errcode, errmsg} on failure, told
// apart by its Content-Type. Returns ErrInvalidPage, ErrInvalidScene,
// ErrInvalidEnvVersion, ErrCodeQuota, ErrNoPermission, ErrRateLimited,
// ErrUnavailable, ErrWeChat; invalid_request for a request that cannot be
// right (refused without a call).
func (c *Client) GetUnlimited(ctx context.Context, r UnlimitedRequest) (Image, error) {
	body, err := r.body()
	if err != nil {
		return Image{}, err
	}
	ct, data, err := c.postForBytes(ctx, "/wxa/getwxacodeunlimit", body)
	if err != nil {
		return Image{}, remap(err, wxacodeErrs)
	}
	return Image{ContentType: ct, Data: data}, nil
}

func (r UnlimitedRequest) body() (unlimitedBody, error) {
	b := unlimitedBody{Scene: r.Scene, Page: r.Page, CheckPath: r.CheckPath, EnvVersion: r.EnvVersion,
		Width: r.Width, AutoColor: r.AutoColor, IsHyaline: r.IsHyaline}
	if b.EnvVersion == "" {
		b.EnvVersion = EnvRelease
	}
	if b.Width == 0 {
		b.Width = DefaultCodeWidth
	}
	switch {
	case !ValidScene(r.Scene):
		return b, apperr.Invalidf("scene must be 1 to 32 characters of [0-9A-Za-z!#$&'()*+,/:;=?@-._~]")
	case b.EnvVersion != EnvRelease && b.EnvVersion != EnvTrial && b.EnvVersion != EnvDevelop:
		return b, apperr.Invalidf("env_version must be release, trial or develop")
	case b.Width < MinCodeWidth || b.Width > MaxCodeWidth:
		return b, apperr.Invalidf("width must be %d to %d", MinCodeWidth, MaxCodeWidth)
	}
	if r.LineColor != nil {
		b.LineColor = &rgbJSON{itoa(r.LineColor.R), itoa(r.LineColor.G), itoa(r.LineColor.B)}
	}
	return b, nil
}

func itoa(v uint8) string { return strconv.Itoa(int(v)) }

// sceneChars is WeChat's set of characters allowed in a scene.
const sceneChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~"

// MaxSceneLen is the longest scene WeChat accepts.
const MaxSceneLen = 32

// ValidScene reports whether s is a scene WeChat accepts: 1 to 32 visible
// characters of [0-9A-Za-z!#$&'()*+,/:;=?@-._~] ('%' is not among them).
func ValidScene(s string) bool {
	if s == "" || len(s) > MaxSceneLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isSceneChar(s[i]) {
			return false
		}
	}
	return true
}

func isSceneChar(b byte) bool { return strings.IndexByte(sceneChars, b) >= 0 }
