package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func secURL(base, path, tok string) string { return base + path + "?access_token=" + tok }

func TestGetUserRiskRankWire(t *testing.T) {
	e, srv, clk := testEmulator(t)
	code, alice := e.MintCode(appA, "alice")
	wantSession(t, code2Session(t, srv, appA, secretA, code))
	_, bob := e.MintCode(appA, "bob") // never logged in
	_, other := e.MintCode(appU, "carol")
	tok := stableToken(t, srv, appA, secretA, false).str("access_token")
	u := secURL(srv.URL, "/wxa/getuserriskrank", tok)
	ok := map[string]any{"appid": appA, "openid": alice, "scene": 1, "client_ip": "203.0.113.7"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	a := post(t, u, ok)
	if a.errcode() != 0 || a.body["risk_rank"] != float64(0) || a.body["unoin_id"] == nil || a.body["union_id"] != nil {
		t.Fatalf("answer %s: want risk_rank 0 and unoin_id (sic)", a.raw)
	}
	e.SetRiskRank(alice, 3)
	if a := post(t, u, with("scene", 0)); a.body["risk_rank"] != float64(3) {
		t.Fatalf("rank after SetRiskRank: %s", a.raw)
	}
	if got := e.RiskClientIP(alice); got != "203.0.113.7" {
		t.Errorf("client_ip recorded %q", got)
	}
	for _, c := range []struct {
		what string
		body any
		want int
	}{
		{"no client_ip", with("client_ip", nil), 44002},
		{"no scene", with("scene", nil), 44002},
		{"scene 7", with("scene", 7), 40129},
		{"bad client_ip", with("client_ip", "not-an-ip"), 47001},
		{"not JSON", []byte("{"), 47001},
		{"unknown openid", with("openid", "o_nobody"), 40003},
		{"another app's openid", with("openid", other), 43104},
		{"another appid", with("appid", appU), 43104},
		{"no visit", with("openid", bob), 61010},
	} {
		t.Run(c.what, func(t *testing.T) { wantErrcode(t, post(t, u, c.body), c.want) })
	}
	wantErrcode(t, get(t, u), 43302)
	wantErrcode(t, post(t, srv.URL+"/wxa/getuserriskrank", ok), 41001)
	// A visit counts for two hours.
	clk.Advance(2 * time.Hour)
	tok = stableToken(t, srv, appA, secretA, false).str("access_token") // the old one expired with the visit
	wantErrcode(t, post(t, secURL(srv.URL, "/wxa/getuserriskrank", tok), ok), 61010)
}

func TestMsgSecCheckWire(t *testing.T) {
	e, srv, clk := testEmulator(t)
	code, alice := e.MintCode(appA, "alice")
	wantSession(t, code2Session(t, srv, appA, secretA, code))
	tok := stableToken(t, srv, appA, secretA, false).str("access_token")
	u := secURL(srv.URL, "/wxa/msg_sec_check", tok)
	check := func(content string) answer {
		t.Helper()
		a := post(t, u, map[string]any{"content": content, "version": 2, "scene": 2, "openid": alice})
		if a.errcode() != 0 || a.str("trace_id") == "" {
			t.Fatalf("%q: %s", content, a.raw)
		}
		return a
	}
	suggest := func(a answer) string { return a.body["result"].(map[string]any)["suggest"].(string) }
	if s := suggest(check("hello 你好")); s != "pass" {
		t.Errorf("plain text: %s", s)
	}
	// Risky text is errcode 0 too: the verdict is result.suggest.
	if a := check("so MINIFN-RISKY"); suggest(a) != "risky" || !strings.Contains(a.raw, `"keyword":"minifn-risky"`) {
		t.Errorf("default risky word: %s", a.raw)
	}
	if s := suggest(check("minifn-review")); s != "review" {
		t.Errorf("default review word: %s", s)
	}
	// The control route replaces the words.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_emulator/content-words", strings.NewReader(`{"risky":["赌博"],"review":[]}`))
	if a := do(t, req); a.status != 200 || !strings.Contains(a.raw, "赌博") {
		t.Fatalf("content-words: %d %s", a.status, a.raw)
	}
	if s := suggest(check("来赌博吧")); s != "risky" {
		t.Errorf("set risky word: %s", s)
	}
	if s := suggest(check("minifn-review")); s != "pass" {
		t.Errorf("cleared review word: %s", s)
	}
	_, bob := e.MintCode(appA, "bob")
	for _, c := range []struct {
		what string
		body map[string]any
		want int
	}{
		{"version 1", map[string]any{"content": "x", "scene": 2, "openid": alice}, 47001},
		{"scene 0", map[string]any{"content": "x", "version": 2, "scene": 0, "openid": alice}, 40129},
		{"scene 5", map[string]any{"content": "x", "version": 2, "scene": 5, "openid": alice}, 40129},
		{"no content", map[string]any{"version": 2, "scene": 2, "openid": alice}, 44002},
		{"over 2500", map[string]any{"content": strings.Repeat("字", 2501), "version": 2, "scene": 2, "openid": alice}, 47001},
		{"unknown openid", map[string]any{"content": "x", "version": 2, "scene": 2, "openid": "o_x"}, 40003},
		{"no visit", map[string]any{"content": "x", "version": 2, "scene": 2, "openid": bob}, 61010},
	} {
		t.Run(c.what, func(t *testing.T) { wantErrcode(t, post(t, u, c.body), c.want) })
	}
	if a := post(t, u, map[string]any{"content": strings.Repeat("字", 2500), "version": 2, "scene": 2, "openid": alice}); a.errcode() != 0 {
		t.Errorf("2500 characters: %s", a.raw)
	}
	clk.Advance(2 * time.Hour)
	tok = stableToken(t, srv, appA, secretA, false).str("access_token")
	wantErrcode(t, post(t, secURL(srv.URL, "/wxa/msg_sec_check", tok), map[string]any{"content": "x", "version": 2, "scene": 2, "openid": alice}), 61010)
}

func TestRiskControlRoute(t *testing.T) {
	e, srv, _ := testEmulator(t)
	a := post(t, srv.URL+"/_emulator/risk", map[string]any{"user": "alice", "appid": appA, "rank": 4})
	if a.status != 200 || a.str("openid") != OpenID(appA, "alice") {
		t.Fatalf("risk: %d %s", a.status, a.raw)
	}
	if e.security.ranks[OpenID(appA, "alice")] != 4 {
		t.Error("rank not set")
	}
	for _, bad := range []map[string]any{
		{"user": "alice", "appid": appA, "rank": 5},
		{"user": "alice", "appid": appA},
		{"user": "alice", "openid": "o1", "rank": 1},
		{"user": "alice", "rank": 1}, // several apps: appid required
	} {
		if a := post(t, srv.URL+"/_emulator/risk", bad); a.status != 400 {
			t.Errorf("%v: %d %s", bad, a.status, a.raw)
		}
	}
}
