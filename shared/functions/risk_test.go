package functions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/couponfn"
)

const riskPath = "/wxa/getuserriskrank"

// riskSetup makes a campaign (stock 10, two per user) and three points codes
// of 50 through the admin routes.
func riskSetup(t *testing.T, e *engEnv) (campaign string, codes []string) {
	t.Helper()
	r := e.do(engAdmin, "POST", "/campaigns", map[string]any{"title": "5 off", "discount": map[string]any{"amount_off": 500},
		"stock": 10, "per_user_limit": 2, "valid_days": 7})
	var c struct{ Campaign struct{ ID string } }
	decodeJSON(t, r, &c)
	if r.status != http.StatusCreated {
		t.Fatalf("campaign: %d %s", r.status, r.body)
	}
	r = e.do(engAdmin, "POST", "/points/codes", map[string]any{"points": 50, "count": 3})
	var minted struct{ Codes []string }
	decodeJSON(t, r, &minted)
	if r.status != http.StatusCreated {
		t.Fatalf("mint: %d %s", r.status, r.body)
	}
	return c.Campaign.ID, minted.Codes
}

func (e *engEnv) claim(u engUser, campaign string) engReply {
	e.t.Helper()
	return e.do(u.token, "POST", "/coupons/claim", map[string]any{"campaign_id": campaign})
}

// mine returns how many coupons u holds.
func (e *engEnv) mine(u engUser) int {
	e.t.Helper()
	var out struct{ Coupons []any }
	decodeJSON(e.t, e.do(u.token, "GET", "/coupons", nil), &out)
	return len(out.Coupons)
}

func (e *engEnv) balance(u engUser) float64 {
	e.t.Helper()
	return e.do(u.token, "GET", "/points", nil).json(e.t)["balance"].(float64)
}

func (e *engEnv) remaining(campaign string) float64 {
	e.t.Helper()
	return e.do("", "GET", "/campaigns/"+campaign, nil).json(e.t)["campaign"].(map[string]any)["remaining"].(float64)
}

// TestRiskOffHTTP: with MINIFN_RISK_RANK_MAX unset (RankMax ""), claims and scans never
// ask WeChat, whatever the user's rank.
func TestRiskOffHTTP(t *testing.T) {
	fail := func(c *app.Config) { c.Risk = app.Risk{Fail: "closed"} } // would refuse if a check ran and failed
	engEachWith(t, fail, func(t *testing.T, e *engEnv) {
		campaign, codes := riskSetup(t, e)
		alice := e.login("alice", nil)
		e.wx.SetRiskRank(alice.openid, 4)
		e.wx.Fail(riskPath, 5, -1)
		if r := e.claim(alice, campaign); r.status != http.StatusCreated {
			t.Fatalf("claim: %d %s", r.status, r.body)
		}
		e.wantJSON(e.do(alice.token, "POST", "/points/scan", map[string]any{"code": codes[0]}), http.StatusOK, `{"earned":50,"balance":50}`)
		if n := e.wx.Calls(riskPath); n != 0 {
			t.Fatalf("getuserriskrank called %d times with risk control off", n)
		}
	})
}

// TestRiskHTTP runs claims and scans with MINIFN_RISK_RANK_MAX=2 against the
// WeChat emulator: ranks within the max pass, higher ones are refused 403
// risk_refused with nothing claimed or credited, answers are cached per
// user, and WeChat failures (unreachable, 61010) let the request through.
func TestRiskHTTP(t *testing.T) {
	engEachWith(t, func(c *app.Config) { c.Risk = app.Risk{RankMax: "2"} }, func(t *testing.T, e *engEnv) {
		campaign, codes := riskSetup(t, e)
		alice, bob, carol, dave := e.login("alice", nil), e.login("bob", nil), e.login("carol", nil), e.login("dave", nil)
		e.wx.SetRiskRank(bob.openid, 3)
		e.wx.SetRiskRank(carol.openid, 4)
		e.wx.SetRiskRank(dave.openid, 4)

		// Rank 0: allowed; the second claim uses the cached rank.
		for i := range 2 {
			if r := e.claim(alice, campaign); r.status != http.StatusCreated {
				t.Fatalf("alice claim %d: %d %s", i, r.status, r.body)
			}
		}
		if n := e.wx.Calls(riskPath); n != 1 {
			t.Fatalf("two claims made %d getuserriskrank calls, want 1 (cached)", n)
		}
		if ip := e.wx.RiskClientIP(alice.openid); ip != "127.0.0.1" {
			t.Errorf("client_ip sent %q, want the caller's 127.0.0.1", ip)
		}
		e.wantJSON(e.do(alice.token, "POST", "/points/scan", map[string]any{"code": codes[0]}), http.StatusOK, `{"earned":50,"balance":50}`)
		if n := e.wx.Calls(riskPath); n != 1 {
			t.Fatalf("a scan after two claims: %d calls, want 1 (cached)", n)
		}

		// Rank 3 > 2: refused before any write; the refusal is cached too.
		e.claim(bob, campaign).want(t, "bob claims", http.StatusForbidden, "risk_refused")
		e.do(bob.token, "POST", "/points/scan", map[string]any{"code": codes[1]}).want(t, "bob scans", http.StatusForbidden, "risk_refused")
		if n := e.wx.Calls(riskPath); n != 2 {
			t.Fatalf("bob's claim and scan: %d calls in all, want 2", n)
		}
		if n, b := e.mine(bob), e.balance(bob); n != 0 || b != 0 {
			t.Fatalf("refused bob holds %d coupons and %v points", n, b)
		}
		if got := e.remaining(campaign); got != 8 {
			t.Fatalf("remaining %v after 2 claims and a refusal, want 8", got)
		}
		// The code bob could not scan is still good.
		e.wantJSON(e.do(alice.token, "POST", "/points/scan", map[string]any{"code": codes[1]}), http.StatusOK, `{"earned":50,"balance":100}`)

		// WeChat unreachable: carol (rank 4) is let through (fail open), and
		// nothing is cached, so her next claim is asked and refused.
		setFault(t, e, `{"path":"`+riskPath+`","count":1,"http_status":503}`)
		if r := e.claim(carol, campaign); r.status != http.StatusCreated {
			t.Fatalf("carol with WeChat down: %d %s (want fail open)", r.status, r.body)
		}
		e.claim(carol, campaign).want(t, "carol once WeChat is back", http.StatusForbidden, "risk_refused")

		// 61010 (dave not seen in 2 h, as WeChat sees it): let through.
		setFault(t, e, `{"path":"`+riskPath+`","count":1,"errcode":61010}`)
		if r := e.claim(dave, campaign); r.status != http.StatusCreated {
			t.Fatalf("dave with 61010: %d %s (want fail open)", r.status, r.body)
		}

		// The cache lasts 5 minutes: then alice is asked again.
		calls := e.wx.Calls(riskPath)
		e.clock.Advance(5*time.Minute + time.Second)
		e.do(alice.token, "POST", "/points/scan", map[string]any{"code": codes[2]})
		if n := e.wx.Calls(riskPath); n != calls+1 {
			t.Fatalf("after 5 minutes: %d calls, want %d", n, calls+1)
		}
	})
}

// TestRiskFailClosedHTTP: with MINIFN_RISK_FAIL=closed, a claim WeChat could
// not rate is refused 502 risk_unavailable and claims nothing.
func TestRiskFailClosedHTTP(t *testing.T) {
	engEachWith(t, func(c *app.Config) { c.Risk = app.Risk{RankMax: "0", Fail: "closed"} }, func(t *testing.T, e *engEnv) {
		campaign, codes := riskSetup(t, e)
		alice := e.login("alice", nil)
		setFault(t, e, `{"path":"`+riskPath+`","count":2,"http_status":503}`)
		e.claim(alice, campaign).want(t, "claim, WeChat down", http.StatusBadGateway, "risk_unavailable")
		setFault(t, e, `{"path":"`+riskPath+`","count":1,"errcode":61010}`)
		e.do(alice.token, "POST", "/points/scan", map[string]any{"code": codes[0]}).
			want(t, "scan, 61010", http.StatusBadGateway, "risk_unavailable")
		if n, b := e.mine(alice), e.balance(alice); n != 0 || b != 0 {
			t.Fatalf("alice holds %d coupons and %v points after refusals", n, b)
		}
		setFault(t, e, `{"path":"`+riskPath+`","count":0}`)
		if r := e.claim(alice, campaign); r.status != http.StatusCreated { // rank 0 ≤ 0
			t.Fatalf("claim once WeChat is back: %d %s", r.status, r.body)
		}
	})
}

// TestRiskConfig: a bad MINIFN_RISK_RANK_MAX or MINIFN_RISK_FAIL stops the
// start (app.Open validates every section once) with one line naming it;
// risk control without the WeChat credentials stops the guarded function's
// Build.
func TestRiskConfig(t *testing.T) {
	engEach(t, func(t *testing.T, e *engEnv) {
		for _, c := range []struct {
			risk app.Risk
			want string
		}{
			{app.Risk{RankMax: "5"}, "MINIFN_RISK_RANK_MAX must be 0 to 4"},
			{app.Risk{RankMax: "high"}, "MINIFN_RISK_RANK_MAX must be 0 to 4"},
			{app.Risk{RankMax: "1", Fail: "maybe"}, "MINIFN_RISK_FAIL must be open or closed"},
		} {
			cfg := e.app.Config
			cfg.Risk = c.risk
			if _, err := app.Open(context.Background(), cfg, app.Options{Store: e.app.Store, Now: e.app.Now}); err == nil ||
				!strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%+v: %v, want %q", c.risk, err, c.want)
			}
		}
		a := *e.app
		a.Config.Risk = app.Risk{RankMax: "1", Fail: "open"}
		a.WeChat = nil
		if _, err := couponfn.CouponClaim.Build(&a); err == nil {
			t.Error("risk control without the WeChat credentials started")
		}
	})
}

// setFault posts to the emulator's faults control route, as a developer would.
func setFault(t *testing.T, e *engEnv, body string) {
	t.Helper()
	res, err := http.Post(e.emuURL+"/_emulator/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("faults %s: %d", body, res.StatusCode)
	}
}
