package wechat

import (
	"context"
	"errors"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

func TestGetPhoneNumber(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	c := ev.client(0)
	code, phone := ev.emu.MintPhoneCode(testApp, "alice")
	openid := emulator.OpenID(testApp, "alice")
	// Another user's openid: WeChat refuses, and the code stays usable.
	_, err := c.GetPhoneNumber(ctx, code, emulator.OpenID(testApp, "bob"))
	wantErr(t, err, "invalid_phone_code", 400)
	info, err := c.GetPhoneNumber(ctx, code, openid)
	if err != nil {
		t.Fatal(err)
	}
	// The emulator answers countryCode as a number, as the doc's example does.
	if info.PurePhoneNumber != phone || info.CountryCode != "86" || info.Watermark.AppID != testApp {
		t.Errorf("info %+v", info)
	}
	_, err = c.GetPhoneNumber(ctx, code, openid) // single use
	wantErr(t, err, "invalid_phone_code", 400)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Errcode != 40029 {
		t.Errorf("cause %v", err)
	}
}

func TestSendSubscribeMessageCredits(t *testing.T) {
	ev := newEnv(t)
	ctx := context.Background()
	c := ev.client(0)
	_, openid := ev.emu.MintCode(testApp, "alice")
	msg := SubscribeMessage{ToUser: openid, TemplateID: "tmpl-paid", Data: map[string]string{"thing1": "绿茶"}}
	err := c.SendSubscribeMessage(ctx, msg)
	wantConflict(t, err)
	ev.emu.Accept(testApp, openid, "tmpl-paid", 1)
	if err := c.SendSubscribeMessage(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if sent := ev.emu.Sent(openid); len(sent) != 1 || sent[0].Data["thing1"] != "绿茶" || sent[0].State != StateFormal {
		t.Errorf("sent %+v", sent)
	}
	wantConflict(t, c.SendSubscribeMessage(ctx, msg)) // one accept, one send
	ev.emu.Accept(testApp, openid, "tmpl-paid", 1)
	long := msg
	long.Data = map[string]string{"thing1": "这是一个超过二十个字符的商品名称，WeChat 会拒绝它"}
	wantErr(t, c.SendSubscribeMessage(ctx, long), "invalid_subscribe_message", 502)
	if n := ev.emu.Credits(testApp, openid, "tmpl-paid"); n != 1 {
		t.Errorf("a refused message used a credit: %d left", n)
	}
}

func TestGetUnlimitedRefusesBadRequestsWithoutACall(t *testing.T) {
	ev := newEnv(t)
	c := ev.client(0)
	for _, r := range []UnlimitedRequest{
		{Scene: ""}, {Scene: "has%percent"}, {Scene: "012345678901234567890123456789012"},
		{Scene: "ok", EnvVersion: "beta"}, {Scene: "ok", Width: 100},
	} {
		if _, err := c.GetUnlimited(context.Background(), r); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if n := ev.emu.Calls("/wxa/getwxacodeunlimit"); n != 0 {
		t.Errorf("%d calls", n)
	}
	img, err := c.GetUnlimited(context.Background(), UnlimitedRequest{Scene: "a=1&b=2", Page: "pages/index/index", CheckPath: true})
	if err != nil || img.ContentType != "image/png" || len(img.Data) < 100 {
		t.Fatalf("image %q %d bytes, %v", img.ContentType, len(img.Data), err)
	}
}

// wantConflict checks for no_subscription (a Conflict: 409), a kind the
// shared statusOf of these tests does not list.
func wantConflict(t *testing.T, err error) {
	t.Helper()
	if e := apperr.From(err); e.Code != "no_subscription" || e.Kind != apperr.Conflict {
		t.Fatalf("error %v, want no_subscription (Conflict)", err)
	}
}
