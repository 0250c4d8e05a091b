package emulator

import (
	"net/http"
	"time"
)

// sentView is a SentMessage as the control API shows it (the dev console's
// "subscribe messages sent").
type sentView struct {
	AppID      string            `json:"appid"`
	ToUser     string            `json:"touser"`
	TemplateID string            `json:"template_id"`
	Page       string            `json:"page,omitempty"`
	State      string            `json:"miniprogram_state,omitempty"`
	Lang       string            `json:"lang,omitempty"`
	Data       map[string]string `json:"data"`
	At         time.Time         `json:"at"`
}

// handleMessages serves GET /_emulator/messages[?openid=]: the subscribe
// messages sent (to one user, or to all), oldest first.
func (e *Emulator) handleMessages(w http.ResponseWriter, r *http.Request) error {
	openid := r.URL.Query().Get("openid")
	st := &e.subs
	st.mu.Lock()
	out := make([]sentView, 0, len(st.sent))
	for _, m := range st.sent {
		if openid == "" || m.ToUser == openid {
			out = append(out, sentView{AppID: m.AppID, ToUser: m.ToUser, TemplateID: m.TemplateID, Page: m.Page,
				State: m.State, Lang: m.Lang, Data: m.Data, At: m.At})
		}
	}
	st.mu.Unlock()
	writeControl(w, http.StatusOK, map[string]any{"messages": out})
	return nil
}
