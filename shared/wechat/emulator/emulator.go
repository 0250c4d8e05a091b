// Package emulator implements an emulator of the WeChat server APIs that minifn
// calls (api.weixin.qq.com), for `minifn dev` and for tests. It follows the
// official protocol, not our client's habits: errors are HTTP 200 with
// {"errcode":…,"errmsg":"…"}, successes carry no errcode, login codes are
// single-use and expire, a user holds one session_key at a time, and stable
// access tokens behave as getStableAccessToken documents.
//
// # WeChat APIs
//
//	GET  /sns/jscode2session    code2Session (login.go)
//	POST /cgi-bin/stable_token  getStableAccessToken (token.go)
//	POST /wxa/getwxacodeunlimit  wxacode.getUnlimited: a PNG QR code of WxacodeContent (wxacode.go)
//	POST /wxa/business/getuserphonenumber  phone number by MintPhoneCode's code (phone.go)
//	POST /cgi-bin/message/subscribe/send   one send per Accept'ed credit (subscribe.go)
//	POST /wxa/getuserriskrank   the rank SetRiskRank gave the user, 0 by default (security.go)
//	POST /wxa/msg_sec_check     version 2: risky/review when the text holds a SetContentWords word (security.go)
//	POST /wxa/sec/order/upload_shipping_info, is_trade_managed,
//	     notify_confirm_receive, get_order     shipping management (shipping.go)
//
// APIs that need an access_token call requireToken (CheckToken for code
// outside the package), which answers 41001 (missing), 40001 (unknown or
// invalidated) or 42001 (expired). A new API is one file plus one line in
// routes.
//
// # Developer control API
//
// Everything under /_emulator/ drives the emulator; errors there use minifn's
// {"error":{"code","message"}} shape.
//
//	POST /_emulator/login-code {"user":"alice","appid"?:"wx…"}
//	     → 200 {"code","openid","expires_in":300}: a one-time login code for a
//	     named test user, as wx.login would give (appid defaults to DevAppID
//	     when it is configured, else to the only configured app).
//	POST /_emulator/users/{user}/block    → 204: the user's logins answer 40226.
//	POST /_emulator/users/{user}/unblock  → 204.
//	POST /_emulator/faults {"path":"/sns/jscode2session","count":1,
//	     "errcode"?:-1,"delay_ms"?:0,"http_status"?:0}
//	     → 204: the next count calls of path wait delay_ms, then answer the
//	     errcode (HTTP 200), or a bare HTTP status, or normally when neither is set.
//	GET  /_emulator/calls → {"calls":{"/sns/jscode2session":3,…}}: calls per
//	     WeChat API path since start (faulted calls included).
//	POST /_emulator/risk {"user":"alice" or "openid":"o…","appid"?,"rank":0-4}
//	     → 200 {"openid","rank"}: getuserriskrank answers that rank for the user.
//	GET|PUT /_emulator/content-words {"risky":["…"],"review":["…"]}
//	     → 200 the words in force: msg_sec_check answers risky (or review) for
//	     text holding one of them, case-insensitively; pass otherwise. Until
//	     set: "minifn-risky" and "minifn-review".
//
// getuserriskrank and msg_sec_check answer 61010 for a user who has not
// logged in (code2Session) in the last two hours, as WeChat does for a user
// who has not opened the Mini-Program; to make them fail otherwise, use
// faults: {"path":"/wxa/getuserriskrank","count":1,"http_status":503}
// (WeChat unreachable), "errcode":61010, 48001 (risk control not enabled)…
//
//	GET  /_emulator/shipping/{transaction_id}, POST …/settle, …/remind,
//	POST /_emulator/shipping/managed: shipping management (shipping.go).
//
//	POST /_emulator/push {"event":"subscribe_msg_popup_event","mode"?:"safe|plain",
//	     "user"?:"alice" | "openid"?:"o…","fields"?:{"List":{"TemplateId":"…",
//	     "SubscribeStatusString":"accept"}}} or {"message":{…}} (a message sent
//	     before, verbatim: WeChat's retry)
//	     → 200 {"push":{"mode","event","message","status","answer","at"},"success"}:
//	     WeChat's message push of one event to the configured push URL (SetPush;
//	     `minifn dev` points it at its own /wx/push), signed with the Token and,
//	     in safe mode, encrypted with the EncodingAESKey. ToUserName, CreateTime
//	     and MsgType "event" are filled in. 409 push_not_configured without a URL.
//	GET  /_emulator/pushes → {"pushes":[…]}: the pushes sent, oldest first.
//
// For example, with `minifn emulator` on :9090:
//
//	curl -s -XPOST localhost:9090/_emulator/login-code -d '{"user":"alice"}'
//
// Go tests use MintCode, Block, Fail, Slow, Calls and Push directly.
//
// # Caveats
//
//   - Quotas other than code2Session's 100 calls per user per minute and
//     force_refresh's 20 per day (30 s apart) are not enforced.
//   - The official page gives no errcode for a force_refresh sooner than 30 s
//     after the last one; the emulator answers 45011 (WeChat's generic "api
//     minute-quota reach limit"), which a client must treat as a rate limit.
//   - Bad secrets answer 40125 "invalid appsecret" and unknown appids 40013,
//     as community reports show; code2Session's official page lists neither.
//   - code2Session answers with Content-Type text/plain, as community reports
//     say WeChat does: clients must not insist on application/json.
//   - Memory is bounded: expired login codes are dropped on every mint, and
//     tokens are forgotten a day after they expire (then they answer 40001).
//   - State lives in memory unless KeepState names a JSON file (state.go),
//     as `minifn dev` does: then a restart keeps users, session keys, codes,
//     tokens, credits, shipping records and pushes. Close writes it.
package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/snapshot"
)

// DevAppID and DevSecret are the clearly fake credentials of the app the
// emulator serves when Options.Apps is empty (`minifn dev`).
const (
	DevAppID  = "wxminifn0000dev01"
	DevSecret = "minifn-dev-secret-not-for-production"
)

// App is one Mini-Program the emulator knows.
type App struct {
	Secret   string
	UnionIDs bool // the app is bound to an Open Platform account: code2Session returns unionid
}

// Options configures an Emulator.
type Options struct {
	Apps map[string]App   // appid → app; empty: DevAppID with DevSecret
	Now  func() time.Time // nil: time.Now

	// Payments looks up a paid WeChat Pay transaction for the shipping APIs
	// (shipping.go), by transaction_id or by mchid and out_trade_no; the
	// Pay emulator's Payment method fits. nil: every payment an upload names
	// is taken as paid by its payer long ago.
	Payments func(transactionID, mchid, outTradeNo string) (Payment, bool)
	// ShippingAfter is how long after a payment upload_shipping_info still
	// answers 10060001 (WeChat: about a minute). 0: at once.
	ShippingAfter time.Duration
	// OnPush receives the message pushes the shipping APIs cause
	// (trade_manage_* events, as the JSON a push carries, decrypted). nil:
	// they are dropped. SetOnPush changes it later.
	OnPush func(msg map[string]any)
}

// Emulator holds the state of the emulated WeChat servers. It is safe for
// concurrent use.
type Emulator struct {
	apps map[string]App // read-only after New
	now  func() time.Time

	mu          sync.Mutex
	codes       map[string]loginCode // one-time login codes
	openids     map[string]userKey   // openid → user, for APIs that take an openid
	sessionKeys map[userKey]string   // the one valid session_key per user
	logins      map[userKey]*window  // code2Session rate limit
	blocked     map[string]bool      // user names whose logins answer 40226
	tokens      map[string]token     // every access token issued, until a day after expiry
	stable      map[string]*stable   // appid → stable token state
	calls       map[string]int       // WeChat API path → calls
	faults      map[string]*fault    // WeChat API path → pending fault
	rid         uint64               // request id counter for errmsg

	wxacode  wxacodeState   // getUnlimited quota (wxacode.go)
	phones   phoneState     // getPhoneNumber codes (phone.go)
	subs     subscribeState // subscribe message credits and log (subscribe.go)
	security securityState  // risk ranks, visits, content words (security.go)
	ship     shippingState  // shipping management per transaction (shipping.go)
	push     pushState      // message pushes to the server (push.go)

	persist *snapshot.Writer // the state file (KeepState); nil: memory only
}

// userKey names a test user within an app: openids differ per app.
type userKey struct{ appid, user string }

// New returns an emulator with no codes or tokens issued yet.
func New(o Options) *Emulator {
	apps := make(map[string]App, len(o.Apps))
	for id, a := range o.Apps {
		apps[id] = a
	}
	if len(apps) == 0 {
		apps[DevAppID] = App{Secret: DevSecret}
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Emulator{
		apps: apps, now: now,
		codes:       map[string]loginCode{},
		openids:     map[string]userKey{},
		sessionKeys: map[userKey]string{},
		logins:      map[userKey]*window{},
		blocked:     map[string]bool{},
		tokens:      map[string]token{},
		stable:      map[string]*stable{},
		calls:       map[string]int{},
		faults:      map[string]*fault{},
		ship:        newShippingState(o),
	}
}

// Handler returns the emulator's HTTP API: the WeChat paths and /_emulator/.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	e.routes(mux)
	e.controlRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.writeErr(w, 40066, "invalid url")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		e.changed() // the state file, if any: a write unless nothing changed
	})
}

// routes registers the WeChat APIs: one line per API. Each is counted by
// Calls and can be faulted with Fail or Slow.
func (e *Emulator) routes(mux *http.ServeMux) {
	e.api(mux, "/sns/jscode2session", e.code2Session)
	e.api(mux, "/cgi-bin/stable_token", e.stableToken)
	e.api(mux, "/wxa/getwxacodeunlimit", e.getUnlimited)
	e.api(mux, "/wxa/business/getuserphonenumber", e.getPhoneNumber)
	e.api(mux, "/cgi-bin/message/subscribe/send", e.sendSubscribe)
	e.api(mux, "/wxa/getuserriskrank", e.getUserRiskRank)
	e.api(mux, "/wxa/msg_sec_check", e.msgSecCheck)
	e.api(mux, "/wxa/sec/order/upload_shipping_info", e.uploadShipping)
	e.api(mux, "/wxa/sec/order/is_trade_managed", e.isTradeManaged)
	e.api(mux, "/wxa/sec/order/notify_confirm_receive", e.notifyConfirmReceive)
	e.api(mux, "/wxa/sec/order/get_order", e.getShippingOrder)
}

// checkApp checks an appid and its secret the way WeChat's credential APIs do.
func (e *Emulator) checkApp(appid, secret string) (errcode int, errmsg string) {
	switch app, ok := e.apps[appid]; {
	case appid == "":
		return 41002, "appid missing"
	case secret == "":
		return 41004, "appsecret missing"
	case !ok:
		return 40013, "invalid appid"
	case !hmac.Equal([]byte(secret), []byte(app.Secret)):
		return 40125, "invalid appsecret"
	}
	return 0, ""
}

// OpenID is the stable openid of a named test user in an app, shaped like
// WeChat's: "o" and 27 base64url characters. It does not depend on the
// emulator instance, so a dev store survives emulator restarts.
func OpenID(appid, user string) string {
	return "o" + mac(appid, user)[:27]
}

// unionID is the user's id across all apps, as an Open Platform account sees it.
func unionID(user string) string {
	return "o" + mac("minifn-emulator-unionid", user)[:27]
}

func mac(key, msg string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// randomBase64 returns n random bytes in standard base64 (session keys).
func randomBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.StdEncoding.EncodeToString(b)
}

// jsonType is the Content-Type WeChat's JSON APIs answer with.
const jsonType = "application/json; encoding=utf-8"

// writeJSON writes v with HTTP 200: WeChat answers errors with 200 too.
func writeJSON(w http.ResponseWriter, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	json.NewEncoder(w).Encode(v)
}

// writeErr writes a WeChat error. errmsg gets a request id suffix as WeChat's
// do, so that clients cannot match messages exactly.
func (e *Emulator) writeErr(w http.ResponseWriter, errcode int, errmsg string) {
	e.mu.Lock()
	e.rid++
	rid := e.rid
	e.mu.Unlock()
	writeJSON(w, jsonType, map[string]any{
		"errcode": errcode,
		"errmsg":  fmt.Sprintf("%s rid: %08x-emulator", errmsg, rid),
	})
}
