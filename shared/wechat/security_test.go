package wechat

import (
	"context"
	"errors"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
)

// login makes name a user who just opened the Mini-Program (a code2Session).
func (ev *env) login(t *testing.T, c *Client, name string) string {
	t.Helper()
	code, _ := ev.emu.MintCode(testApp, name)
	s, err := c.Code2Session(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return s.OpenID
}

func TestGetUserRiskRank(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	c := ev.client(0)
	alice := ev.login(t, c, "alice")
	req := RiskRankRequest{OpenID: alice, Scene: RiskSceneRegister, ClientIP: "2001:db8::1"}
	got, err := c.GetUserRiskRank(ctx, req) // scene 0 is sent: the emulator answers 44002 without it
	if err != nil || got.Rank != 0 || got.UnionID == 0 {
		t.Fatalf("rank %+v, %v (want 0 and the unoin_id)", got, err)
	}
	ev.emu.SetRiskRank(alice, 4)
	req.Scene = RiskSceneMarketing
	if got, err := c.GetUserRiskRank(ctx, req); err != nil || got.Rank != 4 {
		t.Fatalf("rank %+v, %v", got, err)
	}
	if ip := ev.emu.RiskClientIP(alice); ip != "2001:db8::1" {
		t.Errorf("client_ip %q", ip)
	}

	// Documented errcodes, as sentinels.
	_, err = c.GetUserRiskRank(ctx, RiskRankRequest{OpenID: "o_unknown", ClientIP: "203.0.113.1"})
	wantErr(t, err, "wechat_invalid_openid", 502)
	_, bob := ev.emu.MintCode(testApp, "bob") // a code, never exchanged: no visit
	_, err = c.GetUserRiskRank(ctx, RiskRankRequest{OpenID: bob, ClientIP: "203.0.113.1"})
	wantErr(t, err, "wechat_user_not_active", 502)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Errcode != 61010 {
		t.Errorf("cause %v", err)
	}
	for errcode, want := range map[int]string{48001: "wechat_no_permission", 9410009: "wechat_test_quota",
		40129: "wechat_error", -1: "wechat_unavailable"} {
		ev.emu.Fail("/wxa/getuserriskrank", 1, errcode)
		_, err := c.GetUserRiskRank(ctx, req)
		wantErr(t, err, want, 502)
	}

	// Refused without a call.
	calls := ev.emu.Calls("/wxa/getuserriskrank")
	for _, bad := range []RiskRankRequest{{OpenID: alice}, {ClientIP: "203.0.113.1"}} {
		_, err := c.GetUserRiskRank(ctx, bad)
		wantErr(t, err, "invalid_request", 400)
	}
	if n := ev.emu.Calls("/wxa/getuserriskrank"); n != calls {
		t.Errorf("invalid requests made %d calls", n-calls)
	}
}

func TestMsgSecCheck(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	c := ev.client(0)
	alice := ev.login(t, c, "alice")
	for text, want := range map[string]string{"少放糖": SuggestPass, "x minifn-review": SuggestReview, "minifn-risky!": SuggestRisky} {
		v, err := c.MsgSecCheck(ctx, TextCheck{OpenID: alice, Scene: TextSceneComment, Content: text})
		if err != nil || v.Suggest != want || v.TraceID == "" {
			t.Errorf("%q: %+v %v, want %s", text, v, err, want)
		}
	}
	_, bob := ev.emu.MintCode(testApp, "bob")
	_, err := c.MsgSecCheck(ctx, TextCheck{OpenID: bob, Scene: TextSceneComment, Content: "hi"})
	wantErr(t, err, "wechat_user_not_active", 502)
	_, err = c.MsgSecCheck(ctx, TextCheck{OpenID: alice, Scene: 9, Content: "hi"})
	wantErr(t, err, "wechat_error", 502) // 40129: our bug, not the user's
	_, err = c.MsgSecCheck(ctx, TextCheck{OpenID: alice, Scene: TextSceneComment})
	if apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("no content: %v", err)
	}
}
