package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/wechat/push"
)

// TestDevPush: minifn dev generates the push Token and AES key, keeps them
// in its directory, and its emulator pushes to its own /wx/push in safe
// mode through the control route; wx-push answers "success" once per push.
func TestDevPush(t *testing.T) {
	cleanEnv(t)
	const tmpl = "TMPL_dev_push_paid"
	dir := t.TempDir()
	var logs bytes.Buffer
	base, d := startDevWith(t, dir, func(c *app.Config) { c.SubscribePaidTemplate = tmpl })
	tok, _ := os.ReadFile(filepath.Join(dir, "push-token"))
	key, _ := os.ReadFile(filepath.Join(dir, "push-aes-key"))
	token := strings.TrimSpace(string(tok))
	if token == "" || string(d.App.Config.WechatPushToken) != token || len(d.App.Config.WechatPushAESKey) != push.KeyLen ||
		!strings.HasPrefix(strings.TrimSpace(string(key)), string(d.App.Config.WechatPushAESKey)) {
		t.Fatalf("push secrets not kept in %s", dir)
	}
	if _, err := push.ParseKey(string(d.App.Config.WechatPushAESKey)); err != nil {
		t.Fatalf("generated AES key: %v", err)
	}
	// The URL check WeChat makes when the push is configured.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	res, err := http.Get(base + "/wx/push?echostr=abc123&timestamp=" + ts + "&nonce=9&signature=" + push.Sign(token, ts, "9"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "abc123" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("URL check: %d %q %s", res.StatusCode, b, res.Header.Get("Content-Type"))
	}
	if a := do(t, "GET", base+"/wx/push?echostr=abc123&timestamp="+ts+"&nonce=9&signature=00", "", nil); a.status != 401 {
		t.Fatalf("bad URL check: %d %s", a.status, a.raw)
	}

	code, openid := mintCode(t, base, "alice")
	token2 := login(t, base, code).str("token")
	credits := func() float64 {
		a := do(t, "POST", base+"/me/subscriptions", token2, strings.NewReader(`{"results":{"`+tmpl+`":"reject"}}`))
		c, _ := a.body["credits"].(map[string]any)
		n, _ := c[tmpl].(float64)
		return n
	}
	popup := `{"event":"subscribe_msg_popup_event","user":"alice","fields":{"List":{"TemplateId":"` + tmpl + `","SubscribeStatusString":"accept","PopupScene":"0"}}}`
	a := post(t, base+"/_emulator/push", popup)
	p, _ := a.body["push"].(map[string]any)
	if a.status != 200 || a.body["success"] != true || p["mode"] != "safe" || p["answer"] != "success" {
		t.Fatalf("emulator push: %d %s", a.status, a.raw)
	}
	if n := credits(); n != 1 {
		t.Fatalf("credits after the push: %v", n)
	}
	// The emulated WeChat granted the send credit too.
	if n := d.Emu.wechat.Credits(d.App.Config.WechatAppid, openid, tmpl); n != 1 {
		t.Fatalf("emulator credits %d", n)
	}
	// WeChat's retry: the same message again.
	msg, _ := json.Marshal(p["message"])
	if a := post(t, base+"/_emulator/push", `{"message":`+string(msg)+`}`); a.body["success"] != true || credits() != 1 {
		t.Fatalf("retry: %s, %v credits", a.raw, credits())
	}
	// Plain mode is refused: the server is in safe mode.
	if a := post(t, base+"/_emulator/push", `{"event":"x","mode":"plain"}`); a.body["success"] != false ||
		!strings.Contains(a.raw, `"status":401`) {
		t.Fatalf("plain push to a safe-mode server: %s", a.raw)
	}
	if a := do(t, "GET", base+"/_emulator/pushes", "", nil); len(a.body["pushes"].([]any)) != 3 {
		t.Fatalf("pushes: %s", a.raw)
	}
	if a := post(t, base+"/_emulator/push", `{}`); a.status != 400 || a.code() != "invalid_request" {
		t.Fatalf("no event: %d %s", a.status, a.raw)
	}
	// The banner says how, and shows neither secret.
	d.banner(&logs, dir)
	if s := logs.String(); !strings.Contains(s, "/_emulator/push") || strings.Contains(s, token) ||
		strings.Contains(s, string(d.App.Config.WechatPushAESKey)) {
		t.Fatalf("banner:\n%s", s)
	}
}
