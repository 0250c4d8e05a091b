package push_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat/push"
)

const (
	rcvToken = "push-token-for-tests"
	rcvAppID = "wxpushtest0000001"
)

// pushOf builds a push as WeChat sends it: the query and the body, in safe
// mode when k is set.
func pushOf(t *testing.T, k push.Key, appid string, now time.Time, nonce string, msg string) (push.Query, []byte) {
	t.Helper()
	ts := strconv.FormatInt(now.Unix(), 10)
	q := push.Query{Timestamp: ts, Nonce: nonce, Signature: push.Sign(rcvToken, ts, nonce)}
	if k.IsZero() {
		return q, []byte(msg)
	}
	enc, err := push.Encrypt(k, appid, []byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	q.EncryptType, q.MsgSignature = "aes", push.Sign(rcvToken, ts, nonce, enc)
	return q, []byte(fmt.Sprintf(`{"ToUserName":"gh_1","Encrypt":%q}`, enc))
}

func TestReceiverOnce(t *testing.T) {
	key, _ := push.ParseKey(vecKey)
	for _, b := range storetest.Backends(t) {
		for _, mode := range []string{"plain", "safe"} {
			t.Run(b.Name+"/"+mode, func(t *testing.T) {
				clock := storetest.NewClock(time.Now().Truncate(time.Second))
				st := b.Open(t, clock.Now)
				var calls []string
				fail := errors.New("handler down")
				var failNext bool
				block, started := make(chan struct{}), make(chan struct{})
				k := push.Key{}
				if mode == "safe" {
					k = key
				}
				r := push.New(st, push.Options{Token: rcvToken, Key: k, AppID: rcvAppID, Now: clock.Now,
					Handlers: map[string]push.Handler{
						"e": func(ctx context.Context, ev push.Event) error {
							if failNext {
								failNext = false
								return fail
							}
							calls = append(calls, ev.FromUserName)
							return nil
						},
						"slow": func(ctx context.Context, ev push.Event) error { close(started); <-block; return nil },
					}})
				ctx := context.Background()
				msg := func(from string) string {
					return `{"ToUserName":"gh_1","FromUserName":"` + from + `","CreateTime":1,"MsgType":"event","Event":"e"}`
				}

				q, body := pushOf(t, k, rcvAppID, clock.Now(), "n1", msg("o1"))
				if err := r.Receive(ctx, q, body); err != nil || len(calls) != 1 {
					t.Fatalf("first: %v, %d calls", err, len(calls))
				}
				// The same push again (WeChat's retry: same message, new nonce
				// and, in safe mode, a new ciphertext): success, no effect.
				q2, body2 := pushOf(t, k, rcvAppID, clock.Now(), "n2", msg("o1"))
				if err := r.Receive(ctx, q2, body2); err != nil || len(calls) != 1 {
					t.Fatalf("retry: %v, %d calls", err, len(calls))
				}
				if err := r.Receive(ctx, q, body); err != nil || len(calls) != 1 {
					t.Fatalf("replayed as is: %v, %d calls", err, len(calls))
				}
				// A failed handler releases the push: the retry runs it.
				failNext = true
				q, body = pushOf(t, k, rcvAppID, clock.Now(), "n3", msg("o2"))
				if err := r.Receive(ctx, q, body); !errors.Is(err, fail) {
					t.Fatalf("failing handler: %v", err)
				}
				if err := r.Receive(ctx, q, body); err != nil || len(calls) != 2 || calls[1] != "o2" {
					t.Fatalf("after a failure: %v %v", err, calls)
				}
				// Unknown events: success, nothing stored.
				q, body = pushOf(t, k, rcvAppID, clock.Now(), "n4", `{"MsgType":"event","Event":"wxa_nothing","CreateTime":1}`)
				if err := r.Receive(ctx, q, body); err != nil {
					t.Fatalf("unknown event: %v", err)
				}
				if _, err := st.Get(ctx, store.Key{PK: push.MessageKey(body), SK: "push"}); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("an unknown event was stored: %v", err)
				}
				// A duplicate of a push being handled: 503, WeChat retries.
				q, body = pushOf(t, k, rcvAppID, clock.Now(), "n5", `{"MsgType":"event","Event":"slow","CreateTime":1}`)
				done := make(chan error)
				go func() { done <- r.Receive(ctx, q, body) }()
				<-started
				q2, body2 = pushOf(t, k, rcvAppID, clock.Now(), "n6", `{"MsgType":"event","Event":"slow","CreateTime":1}`)
				err := r.Receive(ctx, q2, body2)
				close(block)
				if !errors.Is(err, push.ErrInProgress) || <-done != nil {
					t.Fatalf("duplicate in flight: %v", err)
				}
				// Old timestamps are refused: beyond MaxAge a replay could
				// outlive the done mark.
				q, body = pushOf(t, k, rcvAppID, clock.Now().Add(-push.MaxAge-time.Minute), "n7", msg("o3"))
				if err := r.Receive(ctx, q, body); !errors.Is(err, push.ErrStale) {
					t.Fatalf("stale: %v", err)
				}
				// A forged signature.
				q, body = pushOf(t, k, rcvAppID, clock.Now(), "n8", msg("o4"))
				q.Signature, q.MsgSignature = push.Sign("other-token", q.Timestamp, q.Nonce), push.Sign("x")
				if err := r.Receive(ctx, q, body); !errors.Is(err, push.ErrBadSignature) {
					t.Fatalf("forged: %v", err)
				}
				if len(calls) != 2 {
					t.Fatalf("calls %v", calls)
				}
			})
		}
	}
}

func TestReceiverModes(t *testing.T) {
	key, _ := push.ParseKey(vecKey)
	st := storetest.MustOpenBolt(t)
	now := time.Now()
	handlers := map[string]push.Handler{"e": func(context.Context, push.Event) error { return nil }}
	r := push.New(st, push.Options{Token: rcvToken, AppID: rcvAppID, Key: key, Handlers: handlers})
	ctx := context.Background()
	msg := `{"MsgType":"event","Event":"e","FromUserName":"o1"}`
	// Safe mode configured: a plain push is refused even when signed.
	q, body := pushOf(t, push.Key{}, rcvAppID, now, "n1", msg)
	if err := r.Receive(ctx, q, body); !errors.Is(err, push.ErrEncryptionRequired) {
		t.Fatalf("plain in safe mode: %v", err)
	}
	// Encrypted for another appid.
	q, body = pushOf(t, key, "wxsomeoneelse0001", now, "n2", msg)
	if err := r.Receive(ctx, q, body); !errors.Is(err, push.ErrWrongApp) {
		t.Fatalf("other appid: %v", err)
	}
	// msg_signature must cover Encrypt: the plain signature is not enough.
	q, body = pushOf(t, key, rcvAppID, now, "n3", msg)
	q.MsgSignature = q.Signature
	if err := r.Receive(ctx, q, body); !errors.Is(err, push.ErrBadSignature) {
		t.Fatalf("msg_signature = signature: %v", err)
	}
	// Plain mode configured: an encrypted push cannot be read.
	plain := push.New(st, push.Options{Token: rcvToken, AppID: rcvAppID, Handlers: handlers})
	q, body = pushOf(t, key, rcvAppID, now, "n4", msg)
	if err := plain.Receive(ctx, q, body); !errors.Is(err, push.ErrNoKey) {
		t.Fatalf("encrypted in plain mode: %v", err)
	}
	// Plain mode: a signed URL carries one message only.
	q, body = pushOf(t, push.Key{}, rcvAppID, now, "n5", msg)
	if err := plain.Receive(ctx, q, body); err != nil {
		t.Fatal(err)
	}
	if err := plain.Receive(ctx, q, []byte(`{"MsgType":"event","Event":"e","FromUserName":"forged"}`)); !errors.Is(err, push.ErrReplayed) {
		t.Fatalf("another body under a used signature: %v", err)
	}
	// The URL check.
	if s, err := r.CheckURL(push.Query{Signature: q.Signature, Timestamp: q.Timestamp, Nonce: q.Nonce, Echostr: "42"}); err != nil || s != "42" {
		t.Fatalf("URL check: %q %v", s, err)
	}
	if _, err := r.CheckURL(push.Query{Signature: q.Signature, Timestamp: q.Timestamp, Nonce: "other", Echostr: "42"}); !errors.Is(err, push.ErrBadSignature) {
		t.Fatalf("bad URL check: %v", err)
	}
}
