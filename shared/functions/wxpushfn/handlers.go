package wxpushfn

import (
	"context"
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/subscribe"
	"github.com/minifn/minifn/shared/wechat/push"
)

// queryOf reads the push parameters of a request's URL.
func queryOf(r *http.Request) push.Query {
	v := r.URL.Query()
	return push.Query{Signature: v.Get("signature"), Timestamp: v.Get("timestamp"), Nonce: v.Get("nonce"),
		Echostr: v.Get("echostr"), EncryptType: v.Get("encrypt_type"), MsgSignature: v.Get("msg_signature")}
}

func text(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(s))
}

// CheckURL serves GET /wx/push, WeChat's URL check when the push is
// configured: → 200 text/plain echostr when signature verifies; 401
// invalid_signature otherwise.
func CheckURL(rcv *push.Receiver) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		echo, err := rcv.CheckURL(queryOf(r))
		if err != nil {
			return err
		}
		text(w, echo)
		return nil
	}
}

// Receive serves POST /wx/push, a push: → 200 text/plain "success" once it
// is handled (or was before: each push is handled once). 401
// invalid_signature (bad, missing or reused signature; too old; plain in
// safe mode), 400 decrypt_failed or invalid_push, 403 wrong_appid; 503
// push_in_progress for a duplicate still being handled, and a handler's
// error otherwise: WeChat retries what is not "success".
func Receive(rcv *push.Receiver) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := httpapi.ReadBody(r)
		if err != nil {
			return err
		}
		if err := rcv.Receive(r.Context(), queryOf(r), body); err != nil {
			return err
		}
		text(w, "success")
		return nil
	}
}

// Subscribe message events
// (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html).
const (
	EventPopup  = "subscribe_msg_popup_event"  // the user answered wx.requestSubscribeMessage
	EventChange = "subscribe_msg_change_event" // the user changed a template in their settings
	EventSent   = "subscribe_msg_sent_event"   // the outcome of a send
)

// errRefused is the ErrorCode of a send the user refused (or had no quota for).
const errRefused = 43101

// Handlers returns the push handlers minifn has, by event name: the
// subscribe message events, which keep the users' credits (see
// subscribe.Pushed for how they and the Mini-Program's reports count each
// popup once).
func Handlers(subs *subscribe.Service) map[string]push.Handler {
	return map[string]push.Handler{
		EventPopup:  subscribeHandler(subs, popupChange),
		EventChange: subscribeHandler(subs, settingsChange),
		EventSent:   subscribeHandler(subs, sentChange),
	}
}

// popupChange: accept banks a credit, reject drops them.
func popupChange(t push.TemplateResult) subscribe.Change {
	switch t.Status {
	case "accept":
		return subscribe.Credit
	case "reject":
		return subscribe.Clear
	}
	return 0
}

// settingsChange: turning a template off drops its credits; turning it on
// grants no send (a one-time template needs a popup's accept).
func settingsChange(t push.TemplateResult) subscribe.Change {
	if t.Status == "reject" {
		return subscribe.Clear
	}
	return 0
}

// sentChange: a send refused with 43101 means WeChat holds no credit for
// the user: ours are wrong, drop them.
func sentChange(t push.TemplateResult) subscribe.Change {
	if t.ErrorCode == errRefused {
		return subscribe.Clear
	}
	return 0
}

// subscribeHandler applies an event's List to the sender's credits, with
// the push's done mark in the same Write.
func subscribeHandler(subs *subscribe.Service, change func(push.TemplateResult) subscribe.Change) push.Handler {
	return func(ctx context.Context, ev push.Event) error {
		list, err := ev.Templates()
		if err != nil {
			return err
		}
		changes := map[string]subscribe.Change{}
		for _, t := range list {
			if c := change(t); c != 0 && t.TemplateID != "" {
				changes[t.TemplateID] = c // a template listed twice: the last entry wins
			}
		}
		return subs.Pushed(ctx, ev.FromUserName, changes, ev.DoneOps()...)
	}
}
