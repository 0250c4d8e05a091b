package emulator

import (
	"net/url"
	"testing"
)

func TestControlMessagesListsSentSubscribeMessages(t *testing.T) {
	e, srv, _ := testEmulator(t)
	_, alice := e.MintCode(appA, "alice")
	_, bob := e.MintCode(appA, "bob")
	e.Accept(appA, alice, "tmpl-paid", 1)
	tok := stableToken(t, srv, appA, secretA, false).str("access_token")
	send := func(to string) answer {
		return post(t, srv.URL+"/cgi-bin/message/subscribe/send?access_token="+url.QueryEscape(tok), map[string]any{
			"touser": to, "template_id": "tmpl-paid", "page": "pages/order/index?id=1",
			"data": map[string]any{"thing1": map[string]string{"value": "Jasmine tea"}}})
	}
	if a := send(alice); a.errcode() != 0 {
		t.Fatalf("send to alice: %s", a.raw)
	}
	wantErrcode(t, send(bob), 43101) // bob accepted nothing: not sent, not listed

	all := get(t, srv.URL+"/_emulator/messages")
	msgs, _ := all.body["messages"].([]any)
	if all.status != 200 || len(msgs) != 1 {
		t.Fatalf("GET /_emulator/messages: %d %s, want one message", all.status, all.raw)
	}
	m := msgs[0].(map[string]any)
	if m["touser"] != alice || m["template_id"] != "tmpl-paid" || m["page"] != "pages/order/index?id=1" ||
		m["data"].(map[string]any)["thing1"] != "Jasmine tea" || m["at"] == "" {
		t.Errorf("message %v", m)
	}
	none := get(t, srv.URL+"/_emulator/messages?openid="+url.QueryEscape(bob))
	if got, _ := none.body["messages"].([]any); none.status != 200 || len(got) != 0 {
		t.Errorf("bob's messages: %s, want []", none.raw)
	}
}
