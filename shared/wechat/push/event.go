package push

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/minifn/minifn/shared/apperr"
)

// ErrBadMessage is returned when a push (plain, or once decrypted) is not a
// JSON object with the common fields (MsgType and, for events, Event).
var ErrBadMessage = apperr.New(apperr.Invalid, "invalid_push", "the push is not a JSON message")

// Event is one decoded push: the fields every message carries, and the raw
// JSON for the handler of its Event to read its own fields from.
type Event struct {
	ToUserName   string // the Mini-Program's original id (gh_…)
	FromUserName string // the user's openid (or a system account)
	CreateTime   int64  // unix seconds
	MsgType      string // "event" for the events minifn handles
	Event        string // subscribe_msg_popup_event, trade_manage_order_settlement, …
	Raw          []byte // the whole message as WeChat sent it (decrypted)

	key    string    // the dedup key (Receiver), "" outside it
	doneAt time.Time // when the done mark expires
}

// flexInt is an integer WeChat may send as a number or a string: CreateTime
// is a number in real pushes but a string in the docs' JSON examples, and
// PopupScene is "0" in practice.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*f = 0
			return nil
		}
		b = []byte(s)
	}
	if string(b) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// Decode reads the common fields of a JSON push. The message is kept in Raw.
func Decode(msg []byte) (Event, error) {
	var m struct {
		ToUserName   string
		FromUserName string
		CreateTime   flexInt
		MsgType      string
		Event        string
	}
	if err := json.Unmarshal(msg, &m); err != nil || m.MsgType == "" || (m.MsgType == "event" && m.Event == "") {
		return Event{}, ErrBadMessage
	}
	return Event{ToUserName: m.ToUserName, FromUserName: m.FromUserName, CreateTime: int64(m.CreateTime),
		MsgType: m.MsgType, Event: m.Event, Raw: msg}, nil
}

// TemplateResult is one entry of a subscribe message event's List: the
// popup (subscribe_msg_popup_event), a change in the user's settings
// (subscribe_msg_change_event) or a send's outcome (subscribe_msg_sent_event).
type TemplateResult struct {
	TemplateID string // TemplateId
	// Status is SubscribeStatusString: accept or reject (popup and change).
	Status      string
	PopupScene  int64  // popup only
	MsgID       string // sent only
	ErrorCode   int64  // sent only: 0 delivered; 43101 the user refused
	ErrorStatus string // sent only: "success", "fail:user refuse to accept the msg", …
}

// Templates reads the List of a subscribe message event. In JSON pushes
// List is an object when it holds one template and an array when it holds
// several (community threads on the subscribe-message page, which shows
// only the array); both are accepted, and so is a missing List.
func (ev Event) Templates() ([]TemplateResult, error) {
	var m struct {
		List json.RawMessage
	}
	if err := json.Unmarshal(ev.Raw, &m); err != nil {
		return nil, ErrBadMessage
	}
	raw := bytes.TrimSpace(m.List)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	type entry struct {
		TemplateID            string          `json:"TemplateId"`
		SubscribeStatusString string          `json:"SubscribeStatusString"`
		PopupScene            flexInt         `json:"PopupScene"`
		MsgID                 json.RawMessage `json:"MsgID"`
		ErrorCode             flexInt         `json:"ErrorCode"`
		ErrorStatus           string          `json:"ErrorStatus"`
	}
	var list []entry
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, ErrBadMessage
		}
	} else {
		var one entry
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, ErrBadMessage
		}
		list = []entry{one}
	}
	out := make([]TemplateResult, 0, len(list))
	for _, e := range list {
		out = append(out, TemplateResult{TemplateID: e.TemplateID, Status: e.SubscribeStatusString,
			PopupScene: int64(e.PopupScene), MsgID: unquote(e.MsgID), ErrorCode: int64(e.ErrorCode),
			ErrorStatus: e.ErrorStatus})
	}
	return out, nil
}

// unquote returns a JSON string's text, or a number's digits as written
// (MsgID is a 64-bit id that a float64 would round).
func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if n := bytes.TrimSpace(raw); len(n) > 0 && n[0] != '{' && n[0] != '[' && string(n) != "null" {
		return string(n)
	}
	return ""
}
