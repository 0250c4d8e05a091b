package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The security-centre APIs, as their official pages describe them:
//
//   - getUserRiskRank (https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/safety-control-capability/api_getuserriskrank.html;
//     errcodes from https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/safety-control-capability/riskControl.getUserRiskRank.html)
//   - msgSecCheck v2 (https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_msgseccheck.html;
//     errcodes from https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/sec-check/security.msgSecCheck.html)
//
// Both want a user who opened the Mini-Program in the last two hours: the
// emulator counts a successful code2Session as a visit, and answers 61010
// for a user with none in the last activeWindow.

// activeWindow is how recent a user's visit must be (用户需在近两小时访问过小程序).
const activeWindow = 2 * time.Hour

// Default words that make msg_sec_check answer risky or review (see SetContentWords).
const (
	DefaultRiskyWord  = "minifn-risky"
	DefaultReviewWord = "minifn-review"
)

// securityState holds risk ranks, visits and content words.
type securityState struct {
	mu     sync.Mutex
	seen   map[string]time.Time // openid → last code2Session
	ranks  map[string]int       // openid → risk_rank (0 when unset)
	ips    map[string]string    // openid → client_ip of its last getuserriskrank
	last   TextCheck            // the last msg_sec_check answered
	risky  []string
	review []string
	seq    int64 // unoin_id and trace_id counter
}

// markSeen records a visit of openid (a successful login).
func (e *Emulator) markSeen(openid string) {
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.seen == nil {
		st.seen = map[string]time.Time{}
	}
	st.seen[openid] = e.now()
}

// SetRiskRank makes getuserriskrank answer rank (0–4) for openid.
func (e *Emulator) SetRiskRank(openid string, rank int) {
	defer e.changed() // the state file, if any
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ranks == nil {
		st.ranks = map[string]int{}
	}
	st.ranks[openid] = rank
}

// RiskClientIP returns the client_ip of openid's last answered getuserriskrank.
func (e *Emulator) RiskClientIP(openid string) string {
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ips[openid]
}

// TextCheck is a msg_sec_check request the emulator answered.
type TextCheck struct {
	OpenID  string
	Scene   int
	Content string
}

// LastTextCheck returns the last msg_sec_check the emulator answered.
func (e *Emulator) LastTextCheck() TextCheck {
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.last
}

// SetContentWords replaces the words that make msg_sec_check answer risky
// and review: text holding any of them (case-insensitively) gets that
// suggestion, risky winning. Until called, they are DefaultRiskyWord and
// DefaultReviewWord.
func (e *Emulator) SetContentWords(risky, review []string) {
	defer e.changed() // the state file, if any
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	st.risky, st.review = clean(risky), clean(review)
}

// ContentWords returns the risky and review words in force.
func (e *Emulator) ContentWords() (risky, review []string) {
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	st.defaults()
	return slices.Clone(st.risky), slices.Clone(st.review)
}

func (st *securityState) defaults() {
	if st.risky == nil && st.review == nil {
		st.risky, st.review = []string{DefaultRiskyWord}, []string{DefaultReviewWord}
	}
}

func clean(words []string) []string {
	out := []string{}
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, strings.ToLower(w))
		}
	}
	return out
}

// userErr checks the openid of a security API call: 40003 unknown, 43104
// another app's, 61010 no visit in the last two hours.
func (e *Emulator) userErr(appid, openid string) (int, string) {
	e.mu.Lock()
	uk, known := e.openids[openid]
	e.mu.Unlock()
	switch {
	case !known:
		return 40003, "invalid openid"
	case uk.appid != appid:
		return 43104, "appid and openid not match"
	}
	st := &e.security
	st.mu.Lock()
	seen, ok := st.seen[openid]
	st.mu.Unlock()
	if !ok || e.now().Sub(seen) >= activeWindow {
		return 61010, "code is expired"
	}
	return 0, ""
}

func (st *securityState) next() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seq++
	return st.seq
}

// getUserRiskRank emulates POST /wxa/getuserriskrank {appid, openid, scene,
// client_ip, mobile_no?, email_address?, extended_info?, is_test?} →
// {errcode:0, errmsg, risk_rank, unoin_id} (sic).
func (e *Emulator) getUserRiskRank(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43302, "require POST method")
		return
	}
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		AppID    string `json:"appid"`
		OpenID   string `json:"openid"`
		Scene    *int   `json:"scene"`
		ClientIP string `json:"client_ip"`
		IsTest   bool   `json:"is_test"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	switch {
	case req.AppID == "" || req.OpenID == "" || req.Scene == nil || req.ClientIP == "":
		e.writeErr(w, 44002, "empty post data")
		return
	case *req.Scene < 0 || *req.Scene > 2: // 0 register, 1 marketing; the newest page adds 2 (UGC)
		e.writeErr(w, 40129, "invalid scene")
		return
	case req.AppID != appid:
		e.writeErr(w, 43104, "appid and openid not match")
		return
	}
	if _, err := netip.ParseAddr(req.ClientIP); err != nil {
		e.writeErr(w, 47001, "data format error: client_ip")
		return
	}
	if errcode, errmsg := e.userErr(appid, req.OpenID); errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return
	}
	st := &e.security
	st.mu.Lock()
	rank := st.ranks[req.OpenID]
	if st.ips == nil {
		st.ips = map[string]string{}
	}
	st.ips[req.OpenID] = req.ClientIP
	st.mu.Unlock()
	writeJSON(w, jsonType, map[string]any{
		"errcode": 0, "errmsg": "getuserriskrank succ", "risk_rank": rank, "unoin_id": st.next(),
	})
}

// msgSecCheck emulates POST /wxa/msg_sec_check (version 2) {content,
// version:2, scene:1–4, openid, title?, nickname?, signature?} → {errcode:0,
// errmsg:"ok", trace_id, result:{suggest, label}, detail:[…]}. Risky text is
// answered with errcode 0 too, as the real API does: the verdict is in
// result.suggest. Words set by SetContentWords decide it.
func (e *Emulator) msgSecCheck(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43302, "require POST method")
		return
	}
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		Content   string `json:"content"`
		Version   int    `json:"version"`
		Scene     int    `json:"scene"`
		OpenID    string `json:"openid"`
		Title     string `json:"title"`
		Nickname  string `json:"nickname"`
		Signature string `json:"signature"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	switch {
	case req.Content == "" || req.OpenID == "":
		e.writeErr(w, 44002, "empty post data")
		return
	case req.Version != 2: // version 1 is another API (87014 for risky text); the emulator has only 2
		e.writeErr(w, 47001, "data format error: version")
		return
	case req.Scene < 1 || req.Scene > 4:
		e.writeErr(w, 40129, "invalid scene")
		return
	case utf8.RuneCountInString(req.Content) > 2500:
		e.writeErr(w, 47001, "data format error: content over 2500 characters")
		return
	}
	if errcode, errmsg := e.userErr(appid, req.OpenID); errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return
	}
	e.security.mu.Lock()
	e.security.last = TextCheck{OpenID: req.OpenID, Scene: req.Scene, Content: req.Content}
	e.security.mu.Unlock()
	suggest, label, keyword := e.judge(strings.Join([]string{req.Content, req.Title, req.Nickname, req.Signature}, "\n"))
	kw := map[string]any{"strategy": "keyword", "errcode": 0}
	if keyword != "" {
		kw["suggest"], kw["label"], kw["level"], kw["keyword"] = suggest, label, 20, keyword
	}
	n := e.security.next()
	writeJSON(w, jsonType, map[string]any{
		"errcode": 0, "errmsg": "ok",
		"trace_id": fmt.Sprintf("%08x-%08x-emulator", e.now().Unix(), n),
		"result":   map[string]any{"suggest": suggest, "label": label},
		"detail": []any{
			map[string]any{"strategy": "content_model", "errcode": 0, "suggest": "pass", "label": 100, "prob": 90},
			kw,
		},
	})
}

// judge returns the suggestion for text: risky (label 21000, "other") or
// review (21000) when it holds a configured word, else pass (100).
func (e *Emulator) judge(text string) (suggest string, label int, keyword string) {
	st := &e.security
	st.mu.Lock()
	defer st.mu.Unlock()
	st.defaults()
	lower := strings.ToLower(text)
	for _, w := range st.risky {
		if strings.Contains(lower, w) {
			return "risky", 21000, w
		}
	}
	for _, w := range st.review {
		if strings.Contains(lower, w) {
			return "review", 21000, w
		}
	}
	return "pass", 100, ""
}

// handleRisk serves POST /_emulator/risk {"user" or "openid", "appid"?, "rank"}.
func (e *Emulator) handleRisk(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		User   string `json:"user"`
		OpenID string `json:"openid"`
		AppID  string `json:"appid"`
		Rank   *int   `json:"rank"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Rank == nil || *req.Rank < 0 || *req.Rank > 4 {
		return invalid("rank must be 0 to 4")
	}
	openid := req.OpenID
	switch {
	case openid != "" && req.User != "":
		return invalid("give user or openid, not both")
	case openid == "":
		if err := checkUser(req.User); err != nil {
			return err
		}
		appid, err := e.defaultApp(req.AppID)
		if err != nil {
			return err
		}
		openid = OpenID(appid, req.User)
	}
	e.SetRiskRank(openid, *req.Rank)
	writeControl(w, http.StatusOK, map[string]any{"openid": openid, "rank": *req.Rank})
	return nil
}

// handleContentWords serves GET and PUT /_emulator/content-words {"risky":[…],"review":[…]}.
func (e *Emulator) handleContentWords(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPut {
		var req struct {
			Risky  []string `json:"risky"`
			Review []string `json:"review"`
		}
		if err := decode(r, &req); err != nil {
			return err
		}
		if len(req.Risky)+len(req.Review) > 1000 {
			return invalid("at most 1000 words")
		}
		e.SetContentWords(req.Risky, req.Review)
	}
	risky, review := e.ContentWords()
	writeControl(w, http.StatusOK, map[string]any{"risky": risky, "review": review})
	return nil
}
