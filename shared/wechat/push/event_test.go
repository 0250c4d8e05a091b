package push_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/minifn/minifn/shared/wechat/push"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestDecode(t *testing.T) {
	// CreateTime a number (real pushes) or a string (the docs' examples).
	for _, ct := range []string{`1610969440`, `"1610969440"`} {
		ev, err := push.Decode([]byte(`{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":` + ct + `,"MsgType":"event","Event":"subscribe_msg_change_event"}`))
		if err != nil || ev.CreateTime != 1610969440 || ev.FromUserName != "o1" || ev.Event != "subscribe_msg_change_event" {
			t.Fatalf("CreateTime %s: %+v %v", ct, ev, err)
		}
	}
	for _, bad := range []string{``, `[]`, `{"MsgType":"event"}`, `{"Event":"x"}`, `{"MsgType":"event","Event":"x","CreateTime":"soon"}`, `<xml/>`} {
		if _, err := push.Decode([]byte(bad)); !errors.Is(err, push.ErrBadMessage) {
			t.Errorf("Decode(%s) = %v, want ErrBadMessage", bad, err)
		}
	}
}

func TestTemplates(t *testing.T) {
	one := `{"MsgType":"event","Event":"subscribe_msg_popup_event","List":{"PopupScene":"0","SubscribeStatusString":"accept","TemplateId":"T1"}}`
	many := `{"MsgType":"event","Event":"subscribe_msg_sent_event","List":[{"TemplateId":"T1","MsgID":"1700827132819554304","ErrorCode":"0","ErrorStatus":"success"},{"TemplateId":"T2","MsgID":6054768590064713728,"ErrorCode":43101,"ErrorStatus":"fail:user refuse to accept the msg"}]}`
	for _, c := range []struct {
		msg  string
		want []push.TemplateResult
	}{
		{one, []push.TemplateResult{{TemplateID: "T1", Status: "accept"}}},
		{many, []push.TemplateResult{
			{TemplateID: "T1", MsgID: "1700827132819554304", ErrorStatus: "success"},
			{TemplateID: "T2", MsgID: "6054768590064713728", ErrorCode: 43101, ErrorStatus: "fail:user refuse to accept the msg"}}},
		{`{"MsgType":"event","Event":"x"}`, nil},
	} {
		ev, err := push.Decode([]byte(c.msg))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.Templates()
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v %v\nwant %+v", c.msg, got, err, c.want)
		}
	}
	ev, _ := push.Decode([]byte(`{"MsgType":"event","Event":"x","List":"accept"}`))
	if _, err := ev.Templates(); !errors.Is(err, push.ErrBadMessage) {
		t.Errorf("a string List: %v", err)
	}
}

func TestMessageKey(t *testing.T) {
	a := push.MessageKey([]byte(`{"A":1,"B":"x","MsgID":6054768590064713728}`))
	b := push.MessageKey([]byte(` { "MsgID" : 6054768590064713728, "B":"x",  "A":1 }`))
	c := push.MessageKey([]byte(`{"A":1,"B":"x","MsgID":6054768590064713729}`))
	if a != b || a == c {
		t.Fatalf("keys: %s %s %s", a, b, c)
	}
}
