package emulator

import (
	"encoding/json"
	"image/color"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// getUnlimited's documented limits.
const (
	codeQuota    = 5000 // calls per app per minute (45009 beyond)
	minWidth     = 280
	maxWidth     = 1280
	defaultWidth = 430
	maxScene     = 32
	sceneAlpha   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~"
)

// publishedPage is what the emulator counts as a page of the published
// Mini-Program: a path under pages/ (app.json's usual layout).
var publishedPage = regexp.MustCompile(`^pages(/[A-Za-z0-9_\-]+)+$`)

// wxacodeState is getUnlimited's per-app quota window.
type wxacodeState struct {
	mu      sync.Mutex
	windows map[string]*window // appid → calls this minute
}

// WxacodeContent is the text the emulator's Mini-Program codes encode, so
// that tests can decode an image and see what WeChat was asked for:
// "minifn-emulator:wxacode?appid=…&env_version=…&page=…&scene=…".
func WxacodeContent(appid, page, scene, envVersion string) string {
	q := url.Values{"appid": {appid}, "page": {page}, "scene": {scene}, "env_version": {envVersion}}
	return "minifn-emulator:wxacode?" + q.Encode()
}

// getUnlimited emulates POST /wxa/getwxacodeunlimit: on success a PNG QR
// code of WxacodeContent, else HTTP 200 with JSON {errcode, errmsg}.
func (e *Emulator) getUnlimited(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002, "require POST method")
		return
	}
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	if !e.takeCodeQuota(appid) {
		e.writeErr(w, 45009, "reach max api minute quota limit")
		return
	}
	var req struct {
		Scene      string `json:"scene"`
		Page       string `json:"page"`
		CheckPath  *bool  `json:"check_path"`
		EnvVersion string `json:"env_version"`
		Width      int    `json:"width"`
		AutoColor  bool   `json:"auto_color"`
		LineColor  *struct {
			R, G, B json.RawMessage
		} `json:"line_color"`
		IsHyaline bool `json:"is_hyaline"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		// The official table: "invalid scene length, or the post data is not JSON".
		e.writeErr(w, 40169, "invalid length for scene, or the data is not json string")
		return
	}
	if req.Scene == "" || len(req.Scene) > maxScene || strings.Trim(req.Scene, sceneAlpha) != "" {
		e.writeErr(w, 40169, "invalid length for scene, or the data is not json string")
		return
	}
	env := req.EnvVersion
	if env == "" {
		env = "release"
	}
	if env != "release" && env != "trial" && env != "develop" {
		e.writeErr(w, 40097, "invalid args: env_version")
		return
	}
	checkPath := req.CheckPath == nil || *req.CheckPath // WeChat's default is true
	if strings.HasPrefix(req.Page, "/") || strings.Contains(req.Page, "?") ||
		(checkPath && req.Page != "" && !publishedPage.MatchString(req.Page)) {
		e.writeErr(w, 41030, "invalid page rid")
		return
	}
	width := min(max(req.Width, minWidth), maxWidth)
	if req.Width == 0 {
		width = defaultWidth
	}
	q, err := qrcode.New(WxacodeContent(appid, req.Page, req.Scene, env), qrcode.Medium)
	if err != nil {
		e.writeErr(w, -1, "system error")
		return
	}
	if req.LineColor != nil && !req.AutoColor {
		q.ForegroundColor = color.RGBA{rgbPart(req.LineColor.R), rgbPart(req.LineColor.G), rgbPart(req.LineColor.B), 0xff}
	}
	if req.IsHyaline {
		q.BackgroundColor = color.Transparent
	}
	png, err := q.PNG(width)
	if err != nil {
		e.writeErr(w, -1, "system error")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	w.Write(png)
}

// rgbPart reads a line_color component, sent as "12" (the documented form)
// or 12.
func rgbPart(raw json.RawMessage) uint8 {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0
	}
	return uint8(n)
}

// takeCodeQuota counts one call of the app's minute quota.
func (e *Emulator) takeCodeQuota(appid string) bool {
	now := e.now()
	st := &e.wxacode
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.windows == nil {
		st.windows = map[string]*window{}
	}
	win := st.windows[appid]
	if win == nil || now.Sub(win.start) >= time.Minute {
		win = &window{start: now}
		st.windows[appid] = win
	}
	win.n++
	return win.n <= codeQuota
}
