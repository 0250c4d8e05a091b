package emulator

import (
	"crypto/rand"
	"net/http"
	"time"
)

const (
	codeTTL       = 5 * time.Minute // wx.login codes expire after 5 minutes
	loginLimit    = 100             // code2Session calls per user per minute
	loginWindow   = time.Minute
	codeAlphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	codeLength    = 32 // as real codes, e.g. 001WtX6211LeoR1End921HDW621WtX6w
	maxLiveCodes  = 100_000
	sessionKeyLen = 16 // bytes; 24 base64 characters
)

// loginCode is one wx.login code awaiting code2Session.
type loginCode struct {
	userKey
	expires time.Time
}

// window counts calls in a fixed one-minute window.
type window struct {
	start time.Time
	n     int
}

// MintCode returns a one-time login code for the named test user of appid,
// as wx.login would, and the openid code2Session will answer for it. An
// unknown appid still gets a code; code2Session then refuses the appid.
func (e *Emulator) MintCode(appid, user string) (code, openid string) {
	defer e.changed() // the state file, if any
	now := e.now()
	code = randomCode()
	openid = OpenID(appid, user)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pruneCodes(now)
	e.codes[code] = loginCode{userKey: userKey{appid, user}, expires: now.Add(codeTTL)}
	e.openids[openid] = userKey{appid, user}
	return code, openid
}

// pruneCodes drops expired codes, and the oldest ones beyond maxLiveCodes,
// so that memory stays bounded however many codes are minted.
func (e *Emulator) pruneCodes(now time.Time) {
	for c, lc := range e.codes {
		if !now.Before(lc.expires) {
			delete(e.codes, c)
		}
	}
	for c := range e.codes { // map order is random: good enough for a cap
		if len(e.codes) < maxLiveCodes {
			break
		}
		delete(e.codes, c)
	}
}

func randomCode() string {
	b := make([]byte, codeLength)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// Block makes the user's logins answer 40226 (high-risk user) in every app.
func (e *Emulator) Block(user string) { e.setBlocked(user, true) }

// Unblock lifts Block.
func (e *Emulator) Unblock(user string) { e.setBlocked(user, false) }

func (e *Emulator) setBlocked(user string, b bool) {
	defer e.changed() // the state file, if any
	e.mu.Lock()
	defer e.mu.Unlock()
	if b {
		e.blocked[user] = true
	} else {
		delete(e.blocked, user)
	}
}

// code2Session emulates GET /sns/jscode2session.
func (e *Emulator) code2Session(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		e.writeErr(w, 43001, "require GET method")
		return
	}
	q := r.URL.Query()
	appid, code := q.Get("appid"), q.Get("js_code")
	if errcode, errmsg := e.checkApp(appid, q.Get("secret")); errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return
	}
	if code == "" {
		e.writeErr(w, 41008, "missing code")
		return
	}
	if q.Get("grant_type") != "authorization_code" {
		e.writeErr(w, 40002, "invalid grant_type")
		return
	}
	res, errcode, errmsg := e.login(appid, code)
	if errcode != 0 {
		e.writeErr(w, errcode, errmsg)
		return
	}
	e.markSeen(res.OpenID) // a visit, which the security APIs ask for (security.go)
	// Community reports say WeChat labels this JSON text/plain.
	writeJSON(w, "text/plain", res)
}

type sessionAnswer struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"`
}

// login redeems a code: the checks, in WeChat's order as far as it shows.
func (e *Emulator) login(appid, code string) (sessionAnswer, int, string) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	lc, ok := e.codes[code]
	if !ok || !now.Before(lc.expires) || lc.appid != appid {
		// An expired code is gone; a code of another app stays for its app.
		if ok && !now.Before(lc.expires) {
			delete(e.codes, code)
		}
		return sessionAnswer{}, 40029, "invalid code"
	}
	win := e.logins[lc.userKey]
	if win == nil || now.Sub(win.start) >= loginWindow {
		win = &window{start: now}
		e.logins[lc.userKey] = win
	}
	win.n++
	if win.n > loginLimit {
		// The code is not used up: it works again next minute, while it lives.
		return sessionAnswer{}, 45011, "api minute-quota reach limit mustslower retry next minute"
	}
	delete(e.codes, code)
	if e.blocked[lc.user] {
		return sessionAnswer{}, 40226, "code blocked"
	}
	// A new key on every login; the previous one is no longer valid.
	key := randomBase64(sessionKeyLen)
	e.sessionKeys[lc.userKey] = key
	res := sessionAnswer{OpenID: OpenID(appid, lc.user), SessionKey: key}
	if e.apps[appid].UnionIDs {
		res.UnionID = unionID(lc.user)
	}
	return res, 0, ""
}

// sessionKey returns the one valid session_key of an app's user, by openid.
func (e *Emulator) sessionKey(appid, openid string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, ok := e.openids[openid]
	if !ok || k.appid != appid {
		return "", false
	}
	key, ok := e.sessionKeys[k]
	return key, ok
}

// SessionKey returns the session_key WeChat holds for an app's user, by
// openid: for tests that check it is never logged nor answered.
func (e *Emulator) SessionKey(appid, openid string) (string, bool) {
	return e.sessionKey(appid, openid)
}
