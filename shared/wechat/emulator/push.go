package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/wechat/push"
)

// PushConfig is where and how the emulator sends message pushes (消息推送),
// as the push configuration in the Mini-Program admin says: the URL, the
// Token and, for safe mode, the EncodingAESKey. Pushes are JSON.
type PushConfig struct {
	URL    string // e.g. http://127.0.0.1:8080/wx/push
	Token  string
	AESKey string // 43 characters; "": plain mode
	AppID  string // the app pushes are for; "": the default app
	// Client sends the pushes; nil: one with WeChat's 5-second wait.
	Client *http.Client
}

// SentPush is one push the emulator sent and what the server answered.
type SentPush struct {
	Mode    string          `json:"mode"` // safe or plain
	Event   string          `json:"event"`
	Message json.RawMessage `json:"message"` // the message before encryption
	Status  int             `json:"status"`  // the server's HTTP status (0: no answer)
	Answer  string          `json:"answer"`  // its body ("success"), or the transport error
	At      time.Time       `json:"at"`
}

// Success reports whether the server took the push: WeChat wants "success"
// or an empty body within 5 s, and sends it again otherwise.
func (p SentPush) Success() bool {
	return p.Status == http.StatusOK && (p.Answer == "success" || p.Answer == "")
}

type pushState struct {
	mu   sync.Mutex
	cfg  *PushConfig
	key  push.Key
	sent []SentPush
}

// maxPushes bounds the log of pushes sent.
const maxPushes = 1000

// ErrNoPush is returned by Push when no push URL is configured.
var ErrNoPush = errors.New("emulator: no message push configured (SetPush)")

// SetPush configures the message push. Its error (a malformed key) never
// quotes the key.
func (e *Emulator) SetPush(c PushConfig) error {
	var k push.Key
	if c.AESKey != "" {
		var err error
		if k, err = push.ParseKey(c.AESKey); err != nil {
			return fmt.Errorf("push AES key %w", err)
		}
	}
	if c.AppID == "" {
		var err error
		if c.AppID, err = e.defaultApp(""); err != nil {
			return err
		}
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 5 * time.Second}
	}
	e.push.mu.Lock()
	defer e.push.mu.Unlock()
	e.push.cfg, e.push.key = &c, k
	return nil
}

// Push sends one message push, as WeChat would: msg gets ToUserName,
// CreateTime (now) and MsgType ("event") when it lacks them, and goes in
// safe mode when an AES key is configured, else in plain mode. The
// shipping-management events (trade_manage_*) and the subscribe message
// events are sent this way. A subscribe_msg_popup_event that accepts a
// template also grants the user that send credit here, as WeChat's popup
// does. It returns what the server answered.
func (e *Emulator) Push(ctx context.Context, msg map[string]any) (SentPush, error) {
	return e.SendPush(ctx, "", msg)
}

// SendPush is Push in a given mode: "safe", "plain", or "" (safe when an AES
// key is configured).
func (e *Emulator) SendPush(ctx context.Context, mode string, msg map[string]any) (SentPush, error) {
	defer e.changed() // the state file, if any
	e.push.mu.Lock()
	cfg, key := e.push.cfg, e.push.key
	e.push.mu.Unlock()
	if cfg == nil {
		return SentPush{}, ErrNoPush
	}
	switch {
	case mode == "":
		mode = "plain"
		if !key.IsZero() {
			mode = "safe"
		}
	case mode == "safe" && key.IsZero():
		return SentPush{}, errors.New("emulator: safe mode needs an AES key (SetPush)")
	case mode != "safe" && mode != "plain":
		return SentPush{}, fmt.Errorf("emulator: push mode %q is not safe or plain", mode)
	}
	full := map[string]any{"ToUserName": "gh_" + mac(cfg.AppID, "original-id")[:12],
		"CreateTime": e.now().Unix(), "MsgType": "event"}
	for k, v := range msg {
		full[k] = v
	}
	plain, err := json.Marshal(full)
	if err != nil {
		return SentPush{}, err
	}
	ts := strconv.FormatInt(e.now().Unix(), 10)
	n, _ := rand.Int(rand.Reader, big.NewInt(1e10))
	nonce := n.String()
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {push.Sign(cfg.Token, ts, nonce)}}
	body := plain
	if mode == "safe" {
		enc, err := push.Encrypt(key, cfg.AppID, plain, nil)
		if err != nil {
			return SentPush{}, err
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", push.Sign(cfg.Token, ts, nonce, enc))
		body, _ = json.Marshal(map[string]string{"ToUserName": full["ToUserName"].(string), "Encrypt": enc})
	}
	ev, _ := full["Event"].(string)
	e.popupCredits(cfg.AppID, ev, full)
	out := SentPush{Mode: mode, Event: ev, Message: plain, At: e.now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return SentPush{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := cfg.Client.Do(req)
	if err != nil {
		out.Answer = err.Error()
	} else {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		out.Status, out.Answer = res.StatusCode, string(b)
	}
	e.push.mu.Lock()
	if len(e.push.sent) >= maxPushes {
		e.push.sent = e.push.sent[1:]
	}
	e.push.sent = append(e.push.sent, out)
	e.push.mu.Unlock()
	return out, nil
}

// popupCredits grants the emulated send credits of a popup's accepts.
func (e *Emulator) popupCredits(appid, event string, msg map[string]any) {
	openid, _ := msg["FromUserName"].(string)
	if event != "subscribe_msg_popup_event" || openid == "" {
		return
	}
	var list []map[string]any
	switch l := msg["List"].(type) {
	case map[string]any:
		list = []map[string]any{l}
	case []any:
		for _, x := range l {
			if m, ok := x.(map[string]any); ok {
				list = append(list, m)
			}
		}
	}
	for _, t := range list {
		id, _ := t["TemplateId"].(string)
		if st, _ := t["SubscribeStatusString"].(string); st == "accept" && id != "" {
			e.Accept(appid, openid, id, 1)
		}
	}
}

// Pushes returns the pushes sent, oldest first.
func (e *Emulator) Pushes() []SentPush {
	e.push.mu.Lock()
	defer e.push.mu.Unlock()
	return append([]SentPush(nil), e.push.sent...)
}

// handlePush serves POST /_emulator/push (see the package doc).
func (e *Emulator) handlePush(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Event   string          `json:"event"`
		Mode    string          `json:"mode"`
		User    string          `json:"user"`
		OpenID  string          `json:"openid"`
		Fields  map[string]any  `json:"fields"`
		Message json.RawMessage `json:"message"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	msg := map[string]any{}
	if len(req.Message) > 0 {
		// A message as sent before (SentPush.Message): WeChat's retry.
		if err := json.Unmarshal(req.Message, &msg); err != nil {
			return invalid("message must be a JSON object")
		}
	} else {
		if req.Event == "" {
			return invalid("event is required, e.g. subscribe_msg_popup_event")
		}
		for k, v := range req.Fields {
			msg[k] = v
		}
		msg["Event"] = req.Event
		switch {
		case req.OpenID != "":
			msg["FromUserName"] = req.OpenID
		case req.User != "":
			if err := checkUser(req.User); err != nil {
				return err
			}
			e.push.mu.Lock()
			cfg := e.push.cfg
			e.push.mu.Unlock()
			if cfg != nil {
				msg["FromUserName"] = OpenID(cfg.AppID, req.User)
			}
		}
	}
	out, err := e.SendPush(r.Context(), req.Mode, msg)
	switch {
	case errors.Is(err, ErrNoPush):
		return &controlError{http.StatusConflict, "push_not_configured", "no message push URL is configured"}
	case err != nil:
		return invalid("%v", err)
	}
	writeControl(w, http.StatusOK, map[string]any{"push": out, "success": out.Success()})
	return nil
}

func (e *Emulator) handlePushes(w http.ResponseWriter, r *http.Request) error {
	writeControl(w, http.StatusOK, map[string]any{"pushes": e.Pushes()})
	return nil
}
