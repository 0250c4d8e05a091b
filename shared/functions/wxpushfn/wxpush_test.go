package wxpushfn_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/accountfn"
	"github.com/minifn/minifn/shared/functions/wxpushfn"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat/emulator"
	"github.com/minifn/minifn/shared/wechat/push"
)

const (
	appID  = "wxpushhttptest001"
	secret = "push-http-test-secret-0123456789"
	token  = "pushHttpToken01"
	aesKey = "Zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT"
	tmpl   = "TMPL_paid_push_0001"
)

// env serves wx-push and me exactly as their Specs build them, over one
// real store, with the WeChat emulator sending pushes over loopback.
type env struct {
	t   *testing.T
	srv *httptest.Server
	wx  *emulator.Emulator
	app *app.App
}

func each(t *testing.T, safe bool, f func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clock := storetest.NewClock(time.Now().Truncate(time.Second))
			st := b.Open(t, clock.Now)
			e := &env{t: t}
			var api http.Handler
			e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeHTTP(w, r) }))
			t.Cleanup(e.srv.Close)
			e.wx = emulator.New(emulator.Options{Now: clock.Now, Apps: map[string]emulator.App{appID: {Secret: secret}}})
			wxSrv := httptest.NewServer(e.wx.Handler())
			t.Cleanup(wxSrv.Close)
			cfg := app.Config{WechatAppid: appID, WechatSecret: secret, WechatAPIBase: wxSrv.URL,
				SessionSecret: app.Secret(strings.Repeat("s", 32)), SessionTTL: time.Hour, WechatPushToken: token,
				PayAPIBase: "https://api.mch.weixin.qq.com", OrderTTL: 15 * time.Minute,
				Engage: app.Engage{SubscribePaidTemplate: tmpl}}
			pc := emulator.PushConfig{URL: e.srv.URL + "/wx/push", Token: token, AppID: appID}
			if safe {
				cfg.WechatPushAESKey, pc.AESKey = aesKey, aesKey
			}
			if err := e.wx.SetPush(pc); err != nil {
				t.Fatal(err)
			}
			var err error
			if e.app, err = app.Open(context.Background(), cfg, app.Options{Store: st, Now: clock.Now}); err != nil {
				t.Fatal(err)
			}
			rt := httpapi.NewRouter()
			for _, spec := range []app.Spec{wxpushfn.WxPush, accountfn.Login, accountfn.Me} {
				fn, err := spec.Build(e.app)
				if err != nil {
					t.Fatalf("build %s: %v", spec.Name, err)
				}
				for _, route := range spec.Routes {
					rt.Handle(route, fn.Handler)
				}
			}
			api = rt
			f(t, e)
		})
	}
}

type reply struct {
	status int
	ctype  string
	body   string
}

func (e *env) do(method, path, bearer, body string) reply {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header.Get("Content-Type"), string(b)}
}

func (r reply) code() string {
	var m struct{ Error struct{ Code string } }
	json.Unmarshal([]byte(r.body), &m)
	return m.Error.Code
}

// login logs a test user in and returns their openid and token.
func (e *env) login(user string) (string, string) {
	code, openid := e.wx.MintCode(appID, user)
	r := e.do("POST", "/login", "", `{"code":"`+code+`"}`)
	var out struct{ Token string }
	if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
		e.t.Fatalf("login: %d %s", r.status, r.body)
	}
	return openid, out.Token
}

// credits reads the user's credits through POST /me/subscriptions with a
// "reject" (which banks nothing).
func (e *env) credits(tok string) float64 {
	e.t.Helper()
	r := e.do("POST", "/me/subscriptions", tok, `{"results":{"`+tmpl+`":"reject"}}`)
	var out struct{ Credits map[string]float64 }
	if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
		e.t.Fatalf("subscriptions: %d %s", r.status, r.body)
	}
	return out.Credits[tmpl]
}

func (e *env) push(msg map[string]any) emulator.SentPush {
	e.t.Helper()
	p, err := e.wx.Push(context.Background(), msg)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func popup(openid, status string) map[string]any {
	return map[string]any{"MsgType": "event", "Event": wxpushfn.EventPopup, "FromUserName": openid,
		"List": map[string]any{"TemplateId": tmpl, "SubscribeStatusString": status, "PopupScene": "0"}}
}

func TestPushHTTP(t *testing.T) {
	for _, mode := range []string{"plain", "safe"} {
		t.Run(mode, func(t *testing.T) {
			each(t, mode == "safe", func(t *testing.T, e *env) {
				alice, tok := e.login("alice")
				// A popup accept banks a credit, and so WeChat's send credit.
				p := e.push(popup(alice, "accept"))
				if !p.Success() || p.Mode != mode {
					t.Fatalf("push: %+v", p)
				}
				if n := e.credits(tok); n != 1 {
					t.Fatalf("credits after a pushed accept: %v", n)
				}
				// The client's report of the same popup adds nothing: the push
				// is authoritative.
				if r := e.do("POST", "/me/subscriptions", tok, `{"`+tmpl+`":"accept","errMsg":"requestSubscribeMessage:ok"}`); r.status != 200 || e.credits(tok) != 1 {
					t.Fatalf("report after the push: %d %s, %v credits", r.status, r.body, e.credits(tok))
				}
				// WeChat's retry (the same message, newly signed and encrypted):
				// success, no second credit.
				var again map[string]any
				json.Unmarshal(p.Message, &again)
				if r := e.push(again); !r.Success() || e.credits(tok) != 1 {
					t.Fatalf("replay: %+v, %v credits", r, e.credits(tok))
				}
				// A second popup (a new CreateTime) is another push.
				msg := popup(alice, "accept")
				msg["CreateTime"] = time.Now().Unix() + 1
				if r := e.push(msg); !r.Success() || e.credits(tok) != 2 {
					t.Fatalf("second popup: %+v, %v credits", r, e.credits(tok))
				}
				// A send refused with 43101 (an array List) clears them.
				if r := e.push(map[string]any{"Event": wxpushfn.EventSent, "FromUserName": alice, "List": []any{
					map[string]any{"TemplateId": "OTHER", "MsgID": "1", "ErrorCode": "0", "ErrorStatus": "success"},
					map[string]any{"TemplateId": tmpl, "MsgID": "2", "ErrorCode": "43101", "ErrorStatus": "fail:user refuse to accept the msg"},
				}}); !r.Success() || e.credits(tok) != 0 {
					t.Fatalf("refused send: %+v, %v credits", r, e.credits(tok))
				}
				// Banked again, then turned off in the settings.
				msg = popup(alice, "accept")
				msg["CreateTime"] = time.Now().Unix() + 2
				if r := e.push(msg); !r.Success() || e.credits(tok) != 1 {
					t.Fatalf("third popup: %+v, %v credits", r, e.credits(tok))
				}
				if r := e.push(map[string]any{"Event": wxpushfn.EventChange, "FromUserName": alice,
					"List": map[string]any{"TemplateId": tmpl, "SubscribeStatusString": "reject"}}); !r.Success() || e.credits(tok) != 0 {
					t.Fatalf("change to reject: %+v, %v credits", r, e.credits(tok))
				}
				// Unknown events: success.
				if r := e.push(map[string]any{"Event": "wxa_unknown_event", "FromUserName": alice}); !r.Success() {
					t.Fatalf("unknown event: %+v", r)
				}
				// The shipping events are acknowledged too until their
				// handlers are wired.
				if r := e.push(map[string]any{"Event": "trade_manage_remind_shipping", "transaction_id": "4200001"}); !r.Success() {
					t.Fatalf("trade_manage event: %+v", r)
				}
			})
		})
	}
}

// sign returns a push URL's query for body, as WeChat signs it.
func sign(tok, ts, nonce, encrypt string) string {
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {push.Sign(tok, ts, nonce)}}
	if encrypt != "" {
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", push.Sign(tok, ts, nonce, encrypt))
	}
	return q.Encode()
}

// sealRaw encrypts a hand-made plaintext with aesKey (bad paddings).
func sealRaw(pt []byte) string {
	raw, _ := base64.StdEncoding.DecodeString(aesKey + "=")
	block, _ := aes.NewCipher(raw)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, raw[:16]).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(ct)
}

func TestPushRefusals(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })
	each(t, true, func(t *testing.T, e *env) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		// The URL check: the echostr as text/plain, or 401.
		r := e.do("GET", "/wx/push?echostr=5837397520521941&"+sign(token, ts, "77", ""), "", "")
		if r.status != 200 || r.body != "5837397520521941" || !strings.HasPrefix(r.ctype, "text/plain") {
			t.Fatalf("URL check: %+v", r)
		}
		for name, q := range map[string]string{
			"bad signature": "echostr=1&" + sign("another-token", ts, "77", ""),
			"no signature":  "echostr=1&timestamp=" + ts + "&nonce=77",
			"nothing":       "",
		} {
			if r := e.do("GET", "/wx/push?"+q, "", ""); r.status != 401 || r.code() != "invalid_signature" {
				t.Errorf("URL check, %s: %+v", name, r)
			}
		}
		alice, _ := e.login("alice")
		msg, _ := json.Marshal(popup(alice, "accept"))
		enc, _ := push.Encrypt(mustKey(t), appID, msg, nil)
		body := `{"ToUserName":"gh_1","Encrypt":"` + enc + `"}`
		// A forged msg_signature, and a plain signature where safe mode is
		// configured: 401.
		if r := e.do("POST", "/wx/push?"+sign("another-token", ts, "1", enc), "", body); r.status != 401 || r.code() != "invalid_signature" {
			t.Errorf("forged: %+v", r)
		}
		if r := e.do("POST", "/wx/push?"+sign(token, ts, "2", ""), "", string(msg)); r.status != 401 {
			t.Errorf("plain push in safe mode: %+v", r)
		}
		// Encrypted for another app: 403.
		other, _ := push.Encrypt(mustKey(t), "wxsomeoneelse0001", msg, nil)
		if r := e.do("POST", "/wx/push?"+sign(token, ts, "3", other), "", `{"Encrypt":"`+other+`"}`); r.status != 403 || r.code() != "wrong_appid" {
			t.Errorf("other appid: %+v", r)
		}
		// Bad padding (last byte 0, and 33), not base64, XML, no body: 4xx.
		for name, b := range map[string]string{
			"padding 0":  sealRaw(append(make([]byte, 63), 0)),
			"padding 33": sealRaw(bytes.Repeat([]byte{33}, 64)),
			"not base64": "***",
		} {
			r := e.do("POST", "/wx/push?"+sign(token, ts, "4", b), "", `{"Encrypt":"`+b+`"}`)
			if r.status != 400 || r.code() != "decrypt_failed" {
				t.Errorf("%s: %+v", name, r)
			}
		}
		for name, b := range map[string]string{"XML": "<xml><Encrypt>x</Encrypt></xml>", "empty": "", "no Encrypt": `{"ToUserName":"gh_1"}`} {
			if r := e.do("POST", "/wx/push?"+sign(token, ts, "5", ""), "", b); r.status/100 != 4 {
				t.Errorf("%s: %+v", name, r)
			}
		}
		// The real one goes through, once.
		for range 2 {
			if r := e.do("POST", "/wx/push?"+sign(token, ts, "6", enc), "", body); r.status != 200 || r.body != "success" {
				t.Fatalf("good push: %+v", r)
			}
		}
		if n, _ := e.wxCredits(alice); n != 1 {
			t.Fatalf("credits %d after one push sent twice", n)
		}
	})
	if s := logs.String(); strings.Contains(s, token) || strings.Contains(s, aesKey) {
		t.Fatalf("a push secret reached the logs:\n%s", s)
	}
}

func mustKey(t *testing.T) push.Key {
	k, err := push.ParseKey(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wxCredits reads the server's credits of openid from the store through
// the subscribe service of the same configuration.
func (e *env) wxCredits(openid string) (int64, error) {
	s, _ := e.app.Subscribe()
	return s.Credits(context.Background(), openid, tmpl)
}

func TestBuildNeedsTheToken(t *testing.T) {
	st := storetest.MustOpenBolt(t)
	for _, c := range []struct {
		cfg  app.Config
		want string
	}{
		{app.Config{WechatAppid: appID}, "MINIFN_WECHAT_PUSH_TOKEN is required by wx-push"},
		{app.Config{WechatAppid: appID, WechatPushToken: token, WechatPushAESKey: "short"}, "MINIFN_WECHAT_PUSH_AES_KEY must be"},
		{app.Config{WechatPushToken: token, WechatPushAESKey: aesKey}, "MINIFN_WECHAT_APPID is required by wx-push in safe mode"},
	} {
		_, err := wxpushfn.WxPush.Build(&app.App{Config: c.cfg, Store: st, Now: time.Now})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") ||
			strings.Contains(err.Error(), token) {
			t.Errorf("%+v: %v, want %q…", c.cfg, err, c.want)
		}
	}
	if _, err := wxpushfn.WxPush.Build(&app.App{Config: app.Config{WechatPushToken: token}, Store: st, Now: time.Now}); err != nil {
		t.Errorf("plain mode without appid: %v", err)
	}
}
