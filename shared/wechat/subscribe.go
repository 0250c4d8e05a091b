package wechat

import (
	"context"

	"github.com/minifn/minifn/shared/apperr"
)

// Mini-Program states a subscribe message may open (miniprogram_state).
const (
	StateDeveloper = "developer"
	StateTrial     = "trial"
	StateFormal    = "formal"
)

// SubscribeMessage is one subscribeMessage.send.
type SubscribeMessage struct {
	ToUser     string            // openid
	TemplateID string            // template_id
	Page       string            // optional page the message opens, query allowed
	Data       map[string]string // template key (e.g. "thing1") → value
	State      string            // miniprogram_state; "" is formal
	Lang       string            // zh_CN (when empty), en_US, zh_HK, zh_TW
}

// ErrNoSubscription is returned when the user has no send credit left for
// the template, or refused it (43101). It is final: retrying cannot help
// until the user accepts again in wx.requestSubscribeMessage.
var ErrNoSubscription = apperr.New(apperr.Conflict, "no_subscription",
	"the user has not accepted this message template (or used up the acceptance)")

// ErrInvalidMessage is returned when WeChat refuses the template or its data
// (47003: e.g. a "thing" value over 20 characters; 40037: unknown template).
var ErrInvalidMessage = apperr.New(apperr.Upstream, "invalid_subscribe_message",
	"WeChat refused the subscribe message's template or data")

var subscribeErrs = map[int]*apperr.Error{
	43101: ErrNoSubscription,
	47003: ErrInvalidMessage,
	40037: ErrInvalidMessage,
}

type valueJSON struct {
	Value string `json:"value"`
}

// SendSubscribeMessage sends a subscribe message (POST
// /cgi-bin/message/subscribe/send). Each acceptance in
// wx.requestSubscribeMessage allows one send. Returns ErrNoSubscription
// (43101), ErrInvalidMessage, ErrRateLimited, ErrUnavailable, ErrWeChat;
// invalid_request for a message without user, template or data.
func (c *Client) SendSubscribeMessage(ctx context.Context, m SubscribeMessage) error {
	if m.ToUser == "" || m.TemplateID == "" || len(m.Data) == 0 {
		return apperr.Invalidf("a subscribe message needs touser, template_id and data")
	}
	data := make(map[string]valueJSON, len(m.Data))
	for k, v := range m.Data {
		data[k] = valueJSON{v}
	}
	state, lang := m.State, m.Lang
	if state == "" {
		state = StateFormal
	}
	if lang == "" {
		lang = "zh_CN"
	}
	body := struct {
		ToUser     string               `json:"touser"`
		TemplateID string               `json:"template_id"`
		Page       string               `json:"page,omitempty"`
		Data       map[string]valueJSON `json:"data"`
		State      string               `json:"miniprogram_state"`
		Lang       string               `json:"lang"`
	}{m.ToUser, m.TemplateID, m.Page, data, state, lang}
	return remap(c.postJSON(ctx, "/cgi-bin/message/subscribe/send", body, nil), subscribeErrs)
}
