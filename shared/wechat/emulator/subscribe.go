package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SentMessage is a subscribe message the emulator accepted.
type SentMessage struct {
	AppID, ToUser, TemplateID, Page, State, Lang string
	Data                                         map[string]string
	At                                           time.Time
}

// subscribeState holds send credits and what was sent.
type subscribeState struct {
	mu      sync.Mutex
	credits map[creditKey]int
	sent    []SentMessage
}

type creditKey struct{ appid, openid, template string }

// maxSent bounds the sent-message log.
const maxSent = 10_000

// Accept records n acceptances of a template by a user in
// wx.requestSubscribeMessage: each allows one send.
func (e *Emulator) Accept(appid, openid, templateID string, n int) {
	defer e.changed() // the state file, if any
	st := &e.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.credits == nil {
		st.credits = map[creditKey]int{}
	}
	st.credits[creditKey{appid, openid, templateID}] += n
}

// Credits returns the sends a user has left for a template.
func (e *Emulator) Credits(appid, openid, templateID string) int {
	st := &e.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.credits[creditKey{appid, openid, templateID}]
}

// Sent returns the subscribe messages sent to openid, oldest first.
func (e *Emulator) Sent(openid string) []SentMessage {
	st := &e.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []SentMessage
	for _, m := range st.sent {
		if m.ToUser == openid {
			out = append(out, m)
		}
	}
	return out
}

// sendSubscribe emulates POST /cgi-bin/message/subscribe/send.
func (e *Emulator) sendSubscribe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002, "require POST method")
		return
	}
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		ToUser     string                     `json:"touser"`
		TemplateID string                     `json:"template_id"`
		Page       string                     `json:"page"`
		Data       map[string]json.RawMessage `json:"data"`
		State      string                     `json:"miniprogram_state"`
		Lang       string                     `json:"lang"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	e.mu.Lock()
	uk, known := e.openids[req.ToUser]
	e.mu.Unlock()
	if !known || uk.appid != appid {
		e.writeErr(w, 40003, "invalid openid")
		return
	}
	if req.TemplateID == "" {
		e.writeErr(w, 40037, "invalid template_id")
		return
	}
	data, ok := subscribeData(req.Data)
	if !ok || !oneOf(req.State, "", "developer", "trial", "formal") ||
		!oneOf(req.Lang, "", "zh_CN", "en_US", "zh_HK", "zh_TW") {
		e.writeErr(w, 47003, "argument invalid! data.thing1.value invalid")
		return
	}
	if !e.useCredit(SentMessage{AppID: appid, ToUser: req.ToUser, TemplateID: req.TemplateID,
		Page: req.Page, State: req.State, Lang: req.Lang, Data: data, At: e.now()}) {
		e.writeErr(w, 43101, "user refuse to accept the msg")
		return
	}
	writeJSON(w, jsonType, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": time.Now().UnixNano()})
}

// subscribeData checks the template data: {"key":{"value":"…"}} for every
// key, with "thing" values of at most 20 characters (the documented limit).
func subscribeData(in map[string]json.RawMessage) (map[string]string, bool) {
	if len(in) == 0 {
		return nil, false
	}
	out := make(map[string]string, len(in))
	for k, raw := range in {
		var v struct {
			Value *string `json:"value"`
		}
		if json.Unmarshal(raw, &v) != nil || v.Value == nil {
			return nil, false
		}
		if strings.HasPrefix(k, "thing") && utf8.RuneCountInString(*v.Value) > 20 {
			return nil, false
		}
		out[k] = *v.Value
	}
	return out, true
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// useCredit takes one send credit and records m, or reports there is none.
func (e *Emulator) useCredit(m SentMessage) bool {
	st := &e.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	k := creditKey{m.AppID, m.ToUser, m.TemplateID}
	if st.credits[k] <= 0 {
		return false
	}
	st.credits[k]--
	if len(st.sent) >= maxSent {
		st.sent = st.sent[1:]
	}
	st.sent = append(st.sent, m)
	return true
}
