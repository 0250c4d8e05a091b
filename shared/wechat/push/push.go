// Package push implements WeChat's message push (消息推送) for a
// Mini-Program: the URL check, plain and safe-mode (encrypted) JSON pushes,
// handling each push once, and a dispatcher by Event name.
//
// Official pages: message push
// (https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html),
// encryption (https://developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md)
// and its technical plan
// (https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Technical_Plan.html).
//
// # Protocol
//
//   - URL check: GET ?signature&timestamp&nonce&echostr, signature =
//     Sign(token, timestamp, nonce); answer echostr verbatim (CheckURL).
//   - Plain mode: POST ?signature&timestamp&nonce with the JSON message.
//     The signature does not cover the body.
//   - Safe mode: POST ?…&encrypt_type=aes&msg_signature=… with
//     {"ToUserName","Encrypt"}; msg_signature = Sign(token, timestamp,
//     nonce, Encrypt); Encrypt opens with Decrypt.
//   - Answer "success" within 5 s, or WeChat retries (3 times).
//
// # Once
//
// A push is identified by the SHA-256 of its message in canonical JSON
// (keys sorted, numbers as written): a retry carries the same message, in
// safe mode under a different ciphertext. Receive claims that key with a
// put-if-absent and a short lease before the handler runs, marks it done
// (for DoneTTL) after the handler succeeds, and deletes the claim when the
// handler fails, so that WeChat's retry runs it again. A duplicate that
// finds the push done is answered "success" with no effect; one that finds
// it in progress gets 503 and WeChat retries later. A handler that writes
// can put the done mark in its own Write (Event.DoneOps), so that its
// effect and the mark commit together; otherwise a crash between the two
// leaves the claim to expire and the retry runs the handler again.
//
// Pushes whose URL timestamp is more than MaxAge from now are refused, and
// DoneTTL is longer than MaxAge: a push replayed later than DoneTTL is
// refused for its age, so no push is ever handled twice.
//
// # Keys
//
//	push#<sha256 of the message> / push   "handling" (lease) or "done" (DoneTTL)
//	push#sig#<signature>         / push   plain mode: the signature was used (DoneTTL)
//
// # Caveats
//
//   - Plain mode's signature covers only token, timestamp and nonce: anyone
//     who sees one signed URL can send another body under it. Receive takes
//     each plain signature once, so a captured URL is worth at most the
//     push it came with, but only safe mode authenticates the body. Once an
//     AES key is configured, plain pushes are refused.
//   - Only the JSON data format is read; a push in XML is refused (400).
package push

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// Timing of Receive.
const (
	// Lease is how long a claimed push blocks its duplicates while its
	// handler runs (WeChat waits 5 s for an answer).
	Lease = 30 * time.Second
	// MaxAge is how far a push's timestamp may be from now.
	MaxAge = 48 * time.Hour
	// DoneTTL is how long a handled push is remembered: longer than MaxAge.
	DoneTTL = 72 * time.Hour
)

// Errors of Receive, besides those of the protocol layer (crypto.go,
// event.go).
var (
	// ErrStale is returned when the push's timestamp is missing or more than
	// MaxAge from now.
	ErrStale = apperr.New(apperr.Unauthenticated, "invalid_signature", "the push timestamp is missing or too old")

	// ErrReplayed is returned for a plain push whose signature already came
	// with another message.
	ErrReplayed = apperr.New(apperr.Unauthenticated, "invalid_signature", "the push signature was already used")

	// ErrEncryptionRequired is returned for a plain push when an AES key is
	// configured (safe mode): a plain one may be forged by anyone who saw a
	// signed URL.
	ErrEncryptionRequired = apperr.New(apperr.Unauthenticated, "invalid_signature", "plain pushes are refused in safe mode")

	// ErrNoKey is returned for an encrypted push when no AES key is configured.
	ErrNoKey = apperr.New(apperr.Invalid, "decrypt_failed", "an encrypted push, and MINIFN_WECHAT_PUSH_AES_KEY is not set")

	// ErrInProgress is returned for a duplicate of a push whose handler is
	// still running: WeChat retries it later.
	ErrInProgress = &apperr.Error{Kind: apperr.Unavailable, Code: "push_in_progress",
		Message: "this push is being handled; try again", RetryAfter: 5 * time.Second}
)

// Handler handles one event. It returns nil once the event's effect is
// stored (or was already): an error makes WeChat send the push again.
type Handler func(ctx context.Context, ev Event) error

// Raw adapts a handler that reads the decrypted JSON message itself (the
// shipping management events' handlers).
func Raw(f func(ctx context.Context, event string, raw []byte) error) Handler {
	return func(ctx context.Context, ev Event) error { return f(ctx, ev.Event, ev.Raw) }
}

// Query is what a push's URL carries.
type Query struct {
	Signature, Timestamp, Nonce, Echostr string
	EncryptType, MsgSignature            string // safe mode: "aes" and the body's signature
}

// Options configure a Receiver.
type Options struct {
	Token string // the Token of the push configuration; empty: every push is refused
	Key   Key    // from the EncodingAESKey; zero: plain mode
	AppID string // the Mini-Program's appid, checked inside encrypted pushes
	// Handlers by Event name (by MsgType for messages that are not events).
	// Pushes with no handler are answered "success" and logged.
	Handlers map[string]Handler
	Now      func() time.Time // the clock; time.Now when nil
}

// Receiver checks, opens, deduplicates and dispatches pushes, keeping its
// marks in the store (see Keys). It is safe for concurrent use.
type Receiver struct {
	st       store.Store
	token    string
	key      Key
	appID    string
	handlers map[string]Handler
	now      func() time.Time
}

// New returns a Receiver over st. st may be nil for a receiver used only to
// check URLs and open pushes (CheckURL, Open), never to Receive.
func New(st store.Store, o Options) *Receiver {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Receiver{st: st, token: o.Token, key: o.Key, appID: o.AppID, handlers: o.Handlers, now: o.Now}
}

// CheckURL answers WeChat's URL check: the echostr when the signature
// verifies. Returns ErrBadSignature, or an invalid_request error when
// echostr is missing.
func (r *Receiver) CheckURL(q Query) (string, error) {
	if r.token == "" || q.Signature == "" || !Verify(q.Signature, r.token, q.Timestamp, q.Nonce) {
		return "", ErrBadSignature
	}
	if q.Echostr == "" {
		return "", apperr.Invalidf(`query parameter "echostr" is required`)
	}
	return q.Echostr, nil
}

// Open verifies a push and returns its event: in safe mode (EncryptType
// "aes") msg_signature over the Encrypt field, then the decrypted message
// (appid checked); in plain mode the signature, then the body. It touches
// no store. Returns ErrBadSignature, ErrEncryptionRequired, ErrNoKey,
// ErrDecrypt, ErrWrongApp, ErrBadMessage.
func (r *Receiver) Open(q Query, body []byte) (Event, error) {
	if r.token == "" {
		return Event{}, ErrBadSignature
	}
	var msg []byte
	switch q.EncryptType {
	case "aes":
		var env struct{ Encrypt *string }
		if err := json.Unmarshal(body, &env); err != nil || env.Encrypt == nil {
			return Event{}, ErrBadMessage
		}
		if q.MsgSignature == "" || !Verify(q.MsgSignature, r.token, q.Timestamp, q.Nonce, *env.Encrypt) {
			return Event{}, ErrBadSignature
		}
		if r.key.IsZero() {
			return Event{}, ErrNoKey
		}
		var err error
		if msg, err = Decrypt(r.key, r.appID, *env.Encrypt); err != nil {
			return Event{}, err
		}
	case "", "raw":
		if q.Signature == "" || !Verify(q.Signature, r.token, q.Timestamp, q.Nonce) {
			return Event{}, ErrBadSignature
		}
		if !r.key.IsZero() {
			return Event{}, ErrEncryptionRequired
		}
		msg = body
	default:
		return Event{}, apperr.Invalidf(`query parameter "encrypt_type" must be aes`)
	}
	return Decode(msg)
}

// Receive handles one push (see the package doc): nil means answer
// "success". Returns Open's errors, ErrStale, ErrReplayed, ErrInProgress,
// the handler's error, store errors.
func (r *Receiver) Receive(ctx context.Context, q Query, body []byte) error {
	ev, err := r.Open(q, body)
	if err != nil {
		return err
	}
	now := r.now()
	ts, err := strconv.ParseInt(q.Timestamp, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > MaxAge {
		return ErrStale
	}
	name := ev.Event
	if ev.MsgType != "event" {
		name = ev.MsgType
	}
	h := r.handlers[name]
	if h == nil {
		slog.InfoContext(ctx, "push ignored: no handler", "msg_type", ev.MsgType, "event", ev.Event)
		return nil
	}
	ev.key = MessageKey(ev.Raw)
	ev.doneAt = now.Add(DoneTTL)
	k := store.Key{PK: ev.key, SK: "push"}
	claim := []store.Op{store.Put(store.Item{Key: k, Value: []byte(stateHandling), ExpiresAt: now.Add(Lease)}).IfAbsent()}
	var sig store.Key
	if q.EncryptType == "" || q.EncryptType == "raw" {
		sig = store.Key{PK: "push#sig#" + q.Signature, SK: "push"}
		claim = append(claim, store.Put(store.Item{Key: sig, ExpiresAt: now.Add(DoneTTL)}).IfAbsent())
	}
	switch err := r.st.Write(ctx, claim...); store.FailedOp(err) {
	case -1:
		if err != nil {
			return err
		}
	case 0:
		it, gerr := r.st.Get(ctx, k)
		switch {
		case gerr == nil && string(it.Value) == stateDone:
			slog.InfoContext(ctx, "push already handled", "event", name)
			return nil
		case gerr == nil || errors.Is(gerr, store.ErrNotFound):
			return ErrInProgress // or its claim was just released: WeChat retries
		}
		return gerr
	default:
		return ErrReplayed
	}
	if err := h(ctx, ev); err != nil {
		release := []store.Op{store.Delete(k)}
		if sig.PK != "" {
			release = append(release, store.Delete(sig))
		}
		if derr := r.st.Write(context.WithoutCancel(ctx), release...); derr != nil {
			slog.WarnContext(ctx, "push: releasing a failed push's claim", "event", name, "err", derr)
		}
		return err
	}
	return r.st.Write(context.WithoutCancel(ctx), ev.DoneOps()...)
}

const (
	stateHandling = "handling"
	stateDone     = "done"
)

// DoneOps returns the op that marks the push handled, for a handler to put
// in the same Write as its effect; none outside Receive.
func (ev Event) DoneOps() []store.Op {
	if ev.key == "" {
		return nil
	}
	return []store.Op{store.Put(store.Item{Key: store.Key{PK: ev.key, SK: "push"}, Value: []byte(stateDone),
		ExpiresAt: ev.doneAt})}
}

// MessageKey is the dedup key of a message: "push#" and the hex SHA-256 of
// its canonical JSON (object keys sorted, insignificant space dropped,
// numbers as written), so that a retry serialized differently is the same
// push. A message that is not JSON is hashed as it is.
func MessageKey(msg []byte) string {
	d := json.NewDecoder(bytes.NewReader(msg))
	d.UseNumber()
	var v any
	canon := msg
	if d.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return "push#" + hex.EncodeToString(sum[:])
}
