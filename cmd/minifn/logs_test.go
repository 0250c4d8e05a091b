package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/accesslog"
)

// requestLogs captures, for a whole run of dev, every line logged (as the
// functions log them on the clouds: JSON, one object a line) and the
// request id of every request the server answered.
type requestLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ids []string
}

// captureRequestLogs sends slog's lines to the returned requestLogs until
// the test ends.
func captureRequestLogs(t *testing.T) *requestLogs {
	t.Helper()
	l := &requestLogs{}
	prev := slog.Default()
	slog.SetDefault(slog.New(accesslog.NewHandler(l)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return l
}

func (l *requestLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// wrap notes the id of every request served (platform.Serve set it in
// X-Request-Id before dev's handler runs).
func (l *requestLogs) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.ids = append(l.ids, w.Header().Get("X-Request-Id"))
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// check asserts that no secret (nor its base64) was logged, and that every
// request served logged exactly one access line with the fields operators
// query on.
func (l *requestLogs) check(t *testing.T, secrets map[string]string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	logs := l.buf.String()
	for name, v := range secrets {
		if len(v) < 8 {
			t.Fatalf("secret %s too short to look for: %q", name, v)
		}
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)),
			base64.RawURLEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(logs, form) {
				t.Errorf("the %s was logged", name)
				break
			}
		}
	}
	access := map[string]int{}
	routes := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not one JSON object: %q", line)
		}
		if m["msg"] != "request" {
			continue
		}
		id, _ := m["request_id"].(string)
		access[id]++
		for _, f := range []string{"function", "method", "route", "status", "latency_ms"} {
			if _, ok := m[f]; !ok {
				t.Errorf("access line without %s: %s", f, line)
			}
		}
		st, _ := m["status"].(float64)
		if _, hasCode := m["code"]; (st >= 400) != hasCode {
			t.Errorf("status %v and code %v disagree: %s", st, m["code"], line)
		}
		want := "INFO"
		switch _, cause := m["err"]; {
		case st >= 500:
			want = "ERROR"
		case st >= 400 && st < 499 && cause:
			want = "WARN"
		}
		if m["level"] != want {
			t.Errorf("a %v logged at %v, want %s: %s", st, m["level"], want, line)
		}
		if r, _ := m["route"].(string); r != "" {
			routes[r] = true
		}
	}
	if len(l.ids) < 50 {
		t.Fatalf("only %d requests served", len(l.ids))
	}
	for _, id := range l.ids {
		if access[id] != 1 {
			t.Errorf("request %s logged %d access lines, want 1", id, access[id])
		}
		delete(access, id)
	}
	for id, n := range access {
		t.Errorf("%d access lines for %q, which no request had", n, id)
	}
	for _, r := range []string{"POST /login", "POST /orders/{id}/refund", "POST /pay/notify", "POST /wx/push", "POST /coupons/claim"} {
		if !routes[r] {
			t.Errorf("no access line for route %q", r)
		}
	}
}

// devSecrets lists every secret dev runs with, and the session_key WeChat
// gave each of openids.
func devSecrets(t *testing.T, d *dev, openids ...string) map[string]string {
	t.Helper()
	c := d.App.Config
	s := map[string]string{
		"app secret": string(c.WechatSecret), "APIv3 key": string(c.PayApiv3Key),
		"session secret": string(c.SessionSecret), "admin token": string(c.AdminToken),
		"push token": string(c.WechatPushToken), "push AES key": string(c.WechatPushAESKey),
	}
	block, _ := pem.Decode([]byte(c.PayPrivateKey))
	if block == nil {
		t.Fatal("dev runs without a merchant private key")
	}
	body := base64.StdEncoding.EncodeToString(block.Bytes)
	s["merchant private key"] = body
	for i := 0; i+64 <= len(body); i += 64 {
		s["merchant private key, PEM line"] = body[i : i+64]
	}
	for _, o := range openids {
		k, ok := d.Emu.wechat.SessionKey(c.WechatAppid, o)
		if !ok {
			t.Fatalf("no session_key for %s", o)
		}
		s["session_key of "+o] = k
	}
	return s
}
