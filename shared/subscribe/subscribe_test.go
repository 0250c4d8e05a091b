package subscribe_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/subscribe"
	"github.com/minifn/minifn/shared/wechat"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

const (
	appID    = "wxsubscribetest01"
	secret   = "subscribe-test-secret-0123456789"
	tmpl     = "TMPL_order_paid_01"
	sendPath = "/cgi-bin/message/subscribe/send"
)

// env is a subscribe service on a real store, whose WeChat client talks to
// the WeChat emulator over loopback HTTP.
type env struct {
	st  store.Store
	emu *emulator.Emulator
	svc *subscribe.Service
	o   subscribe.Options // what svc was built with
}

func newEnv(t *testing.T, st store.Store, now func() time.Time) *env {
	emu := emulator.New(emulator.Options{Now: now, Apps: map[string]emulator.App{appID: {Secret: secret}}})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	wc := wechat.New(wechat.Config{AppID: appID, Secret: secret, BaseURL: srv.URL, Store: st, Now: now})
	o := subscribe.Options{WeChat: wc, Now: now,
		PaidTemplate: tmpl, PaidPage: "pages/order/detail?id={order_id}", State: wechat.StateTrial}
	return &env{st: st, emu: emu, svc: subscribe.New(st, o), o: o}
}

// user makes a test user known to the emulator (as a login would) and
// returns their openid.
func (e *env) user(name string) string {
	_, openid := e.emu.MintCode(appID, name)
	return openid
}

func each(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := storetest.NewClock(time.Now().Truncate(time.Second))
			f(t, newEnv(t, b.Open(t, clk.Now), clk.Now))
		})
	}
}

func credits(t *testing.T, e *env, openid string) int64 {
	t.Helper()
	n, err := e.svc.Credits(context.Background(), openid, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordCreditsPerAccept(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		out, err := e.svc.Record(ctx, "o-alice", map[string]string{tmpl: "accept", "OTHER": "reject", "UNUSED": "accept"}, "")
		if err != nil || out.Credits[tmpl] != 1 || out.Credits["OTHER"] != 0 || out.Credits["UNUSED"] != 0 || out.Replayed {
			t.Fatalf("first report: %+v, %v", out, err)
		}
		// A template this server never sends banks nothing: a client cannot
		// fill the store with credits for made-up template ids.
		for i := range 3 {
			out, err := e.svc.Record(ctx, "o-alice", map[string]string{fmt.Sprintf("MADE_UP_%d", i): "accept"}, "")
			if err != nil || out.Credits[fmt.Sprintf("MADE_UP_%d", i)] != 0 {
				t.Fatalf("unsent template: %+v, %v", out, err)
			}
		}
		if items, _, err := e.st.Query(ctx, "sub#o-alice", store.Query{}); err != nil || len(items) != 1 || items[0].SK != tmpl {
			t.Fatalf("stored credits %+v, %v; want the paid template's only", items, err)
		}
		// A retried report with its Idempotency-Key counts once.
		for i := range 2 {
			out, err = e.svc.Record(ctx, "o-alice", map[string]string{tmpl: "accept"}, "report-1")
			if err != nil || out.Credits[tmpl] != 2 || out.Replayed != (i == 1) {
				t.Fatalf("keyed report %d: %+v, %v", i, out, err)
			}
		}
		// The same key from another user is another report.
		if out, err = e.svc.Record(ctx, "o-bob", map[string]string{tmpl: "accept"}, "report-1"); err != nil || out.Credits[tmpl] != 1 || out.Replayed {
			t.Fatalf("bob: %+v, %v", out, err)
		}
		// Reports never bank more than MaxCredits.
		for range subscribe.MaxCredits + 5 {
			if out, err = e.svc.Record(ctx, "o-alice", map[string]string{tmpl: "accept"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if out.Credits[tmpl] != subscribe.MaxCredits || credits(t, e, "o-alice") != subscribe.MaxCredits {
			t.Fatalf("credits %+v, stored %d: want the cap %d", out, credits(t, e, "o-alice"), subscribe.MaxCredits)
		}
		for _, bad := range []map[string]string{
			{},
			{tmpl: "maybe"},
			{"bad template!": "accept"},
		} {
			if _, err := e.svc.Record(ctx, "o-alice", bad, ""); apperr.CodeOf(err) != "invalid_request" {
				t.Errorf("%v: %v", bad, err)
			}
		}
		if _, err := e.svc.Record(ctx, "o-alice", map[string]string{tmpl: "accept"}, "bad\x00key"); apperr.CodeOf(err) != "invalid_request" {
			t.Errorf("control character in the key: %v", err)
		}
	})
}

func TestRecordConcurrentReports(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var wg sync.WaitGroup
		// Eight reports with distinct keys and eight retries of one report.
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("k%d", i)
				if i >= 8 {
					key = "same"
				}
				if _, err := e.svc.Record(ctx, "o-carol", map[string]string{tmpl: "accept"}, key); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := credits(t, e, "o-carol"); n != 9 {
			t.Fatalf("%d credits, want 9 (8 distinct reports + 1 retried)", n)
		}
	})
}

func paid(openid, orderID string) subscribe.Paid {
	return subscribe.Paid{OpenID: openid, OrderID: orderID, Title: "西湖龙井 明前特级 二百五十克 礼盒装 送礼佳品",
		Total: 5970, PaidAt: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)}
}

func TestOrderPaidOneSendPerCredit(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		alice := e.user("alice")
		e.emu.Accept(appID, alice, tmpl, 1)
		if _, err := e.svc.Record(ctx, alice, map[string]string{tmpl: "accept"}, ""); err != nil {
			t.Fatal(err)
		}
		sent, err := e.svc.OrderPaid(ctx, paid(alice, "order-1"))
		if err != nil || !sent {
			t.Fatalf("order-1: sent %v, %v", sent, err)
		}
		msgs := e.emu.Sent(alice)
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		m := msgs[0]
		want := map[string]string{"character_string1": "order-1", "amount2": "59.70", "time3": "2030-01-02 11:04"}
		if m.TemplateID != tmpl || m.Page != "pages/order/detail?id=order-1" || m.State != "trial" || fmt.Sprint(m.Data) != fmt.Sprint(want) {
			t.Errorf("message %+v", m)
		}
		if n := credits(t, e, alice); n != 0 {
			t.Errorf("%d credits left, want 0", n)
		}
		// The same order again: already handled. Another order: no credit,
		// no call — and a credit reported afterwards does not send it late.
		for _, id := range []string{"order-1", "order-2"} {
			if sent, err := e.svc.OrderPaid(ctx, paid(alice, id)); err != nil || sent {
				t.Fatalf("%s without credit: sent %v, %v", id, sent, err)
			}
		}
		e.emu.Accept(appID, alice, tmpl, 1)
		e.svc.Record(ctx, alice, map[string]string{tmpl: "accept"}, "")
		if sent, err := e.svc.OrderPaid(ctx, paid(alice, "order-2")); err != nil || sent {
			t.Fatalf("order-2 after a new credit: sent %v, %v", sent, err)
		}
		if n := e.emu.Calls(sendPath); n != 1 {
			t.Fatalf("%d send calls, want 1", n)
		}
		if sent, err := e.svc.OrderPaid(ctx, paid(alice, "order-3")); err != nil || !sent {
			t.Fatalf("order-3 with the new credit: sent %v, %v", sent, err)
		}
	})
}

func TestOrderPaid43101NotRetried(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		bob := e.user("bob")
		// Our count says 2, WeChat has none (bob accepted nothing there).
		for _, k := range []string{"a", "b"} {
			e.svc.Record(ctx, bob, map[string]string{tmpl: "accept"}, k)
		}
		sent, err := e.svc.OrderPaid(ctx, paid(bob, "order-1"))
		if sent || !errors.Is(err, wechat.ErrNoSubscription) {
			t.Fatalf("43101: sent %v, %v", sent, err)
		}
		for range 2 {
			if sent, err := e.svc.OrderPaid(ctx, paid(bob, "order-1")); sent || err != nil {
				t.Fatalf("repeat: sent %v, %v", sent, err)
			}
		}
		if n := e.emu.Calls(sendPath); n != 1 {
			t.Fatalf("%d send calls, want 1: 43101 must not be retried", n)
		}
		if n := credits(t, e, bob); n != 1 {
			t.Fatalf("%d credits, want 1: the refused credit stays spent", n)
		}
		// WeChat down: the credit comes back, the order is not retried.
		e.emu.Accept(appID, bob, tmpl, 1)
		e.emu.Fail(sendPath, 1, -1)
		if sent, err := e.svc.OrderPaid(ctx, paid(bob, "order-2")); sent || apperr.CodeOf(err) != "wechat_unavailable" {
			t.Fatalf("WeChat down: sent %v, %v", sent, err)
		}
		if n := credits(t, e, bob); n != 1 {
			t.Fatalf("%d credits after a failed send, want 1 (given back)", n)
		}
		if sent, _ := e.svc.OrderPaid(ctx, paid(bob, "order-2")); sent {
			t.Fatal("a failed send was retried")
		}
		if sent, err := e.svc.OrderPaid(ctx, paid(bob, "order-3")); !sent || err != nil {
			t.Fatalf("order-3: sent %v, %v", sent, err)
		}
	})
}

func TestOrderPaidOff(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		carol := e.user("carol")
		e.emu.Accept(appID, carol, tmpl, 1)
		e.svc.Record(ctx, carol, map[string]string{tmpl: "accept"}, "")
		o := e.o
		o.PaidTemplate = ""
		off := subscribe.New(e.st, o)
		if sent, err := off.OrderPaid(ctx, paid(carol, "order-1")); sent || err != nil || e.emu.Calls(sendPath) != 0 {
			t.Fatalf("no template configured: sent %v, %v", sent, err)
		}
	})
}

func TestParseFields(t *testing.T) {
	f, err := subscribe.ParseFields("thing1=title, amount2=total")
	if err != nil || f["thing1"] != "title" || f["amount2"] != "total" {
		t.Fatalf("%v, %v", f, err)
	}
	d := f.Data(paid("o", "x"))
	if r := []rune(d["thing1"]); len(r) != 20 {
		t.Errorf("thing value %q: want the first 20 characters", d["thing1"])
	}
	for _, bad := range []string{"thing1", "thing1=price", "=title", ""} {
		if _, err := subscribe.ParseFields(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
