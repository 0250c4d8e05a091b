package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

const (
	tokenTTL       = 7200 * time.Second
	renewBefore    = 5 * time.Minute // stable tokens are renewed 5 minutes before expiry
	forcePerDay    = 20
	forceSpacing   = 30 * time.Second
	tokenMemory    = 24 * time.Hour // how long an expired token still answers 42001
	maxRequestBody = 64 << 10
)

// chinaTime is the zone WeChat's daily quotas reset in (UTC+8, no DST).
var chinaTime = time.FixedZone("CST", 8*3600)

// token is one access token ever issued.
type token struct {
	appid   string
	expires time.Time
}

// stable is one app's getStableAccessToken state.
type stable struct {
	current    string
	forceDay   string // the China calendar day forceCount counts
	forceCount int
	lastForce  time.Time
}

// stableToken emulates POST /cgi-bin/stable_token.
func (e *Emulator) stableToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002, "require POST method")
		return
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	if errcode, errmsg := e.checkApp(req.AppID, req.Secret); errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return
	}
	if req.GrantType != "client_credential" {
		e.writeErr(w, 40002, "invalid grant_type")
		return
	}
	tok, expires, errcode, errmsg := e.issueStable(req.AppID, req.ForceRefresh)
	if errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return
	}
	writeJSON(w, jsonType, map[string]any{
		"access_token": tok,
		"expires_in":   int(expires.Sub(e.now()) / time.Second),
	})
}

// issueStable returns the app's current stable token, renewing it in its last
// 5 minutes (the old one stays valid until its own expiry), or, with force,
// a new one that invalidates every earlier token of the app at once.
func (e *Emulator) issueStable(appid string, force bool) (string, time.Time, int, string) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.stable[appid]
	if st == nil {
		st = &stable{}
		e.stable[appid] = st
	}
	if force {
		day := now.In(chinaTime).Format(time.DateOnly)
		if st.forceDay != day {
			st.forceDay, st.forceCount = day, 0
		}
		switch {
		case st.forceCount >= forcePerDay:
			return "", time.Time{}, 45009, "reach max api daily quota limit"
		case !st.lastForce.IsZero() && now.Sub(st.lastForce) < forceSpacing:
			return "", time.Time{}, 45011, "api minute-quota reach limit, must slower, retry next minute"
		}
		st.forceCount++
		st.lastForce = now
		for t, info := range e.tokens {
			if info.appid == appid {
				delete(e.tokens, t)
			}
		}
		st.current = ""
	}
	if cur, ok := e.tokens[st.current]; ok && cur.expires.Sub(now) >= renewBefore {
		return st.current, cur.expires, 0, ""
	}
	e.pruneTokens(now)
	st.current = newToken()
	e.tokens[st.current] = token{appid: appid, expires: now.Add(tokenTTL)}
	return st.current, now.Add(tokenTTL), 0, ""
}

// pruneTokens forgets tokens a day after they expired.
func (e *Emulator) pruneTokens(now time.Time) {
	for t, info := range e.tokens {
		if now.Sub(info.expires) > tokenMemory {
			delete(e.tokens, t)
		}
	}
}

// newToken returns a token shaped roughly like WeChat's (long, URL-safe).
func newToken() string {
	b := make([]byte, 96)
	rand.Read(b)
	return "emu_" + base64.RawURLEncoding.EncodeToString(b)
}

// CheckToken validates the access_token query parameter of an API call, as
// every token-authenticated WeChat API does first. It returns the token's
// appid, or a non-zero errcode and its errmsg: 41001 when it is missing,
// 40001 when it is unknown or was invalidated, 42001 when it expired. It is
// exported for servers and tests that add APIs around the emulator.
func (e *Emulator) CheckToken(r *http.Request) (appid string, errcode int, errmsg string) {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		return "", 41001, "access_token missing"
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.tokens[tok]
	switch {
	case !ok:
		return "", 40001, "invalid credential, access_token is invalid or not latest"
	case !now.Before(info.expires):
		return "", 42001, "access_token expired"
	}
	return info.appid, 0, ""
}

// requireToken is CheckToken for handlers: on failure it writes WeChat's
// error and returns ok false.
func (e *Emulator) requireToken(w http.ResponseWriter, r *http.Request) (appid string, ok bool) {
	appid, errcode, errmsg := e.CheckToken(r)
	if errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return "", false
	}
	return appid, true
}
