// Package subscribe implements subscribe-message credits and the messages
// the server sends with them: the one sent when an order is paid, and
// (SendOnce, for package booking) a booking's reminder before its slot.
//
// A Mini-Program may message a user once per acceptance in
// wx.requestSubscribeMessage. The Mini-Program reports each call's result
// (Record, with an Idempotency-Key so that a retried report counts once);
// every "accept" is one credit for that template, up to MaxCredits. When an
// order is paid and the user holds a credit for the configured template, one
// message is sent (OrderPaid). The order hook runs on every confirmation of
// the payment (WeChat Pay repeats notifies), so the credit is taken and the
// order marked (put-if-absent on the order id) in one Write: a notify that
// arrives three times sends at most once. When WeChat's message push is
// configured (function wx-push), its subscribe events take over from the
// reports: a popup's accept banks a credit, a reject or a refused send
// clears them (Pushed). WeChat's 43101
// (no quota left) means our count was off: the credit stays spent and the
// send is not retried.
//
// # Keys
//
//	sub#<openid>          / <template id>  N: the user's credits for the template
//	sub#sent#<ref>        / sent           the message about ref (an order id: its paid message;
//	                                       "booking-<id>": its reminder) was handled: "sent" (a
//	                                       credit was taken for it) or "no_credit"; put-if-absent, so once
//	sub#push              / active         WeChat's push delivered a subscribe event lately: it is
//	                                       authoritative, reports bank nothing (Pushed); PushTTL
//
// # Caveats
//
//   - Credits are what the Mini-Program reports; WeChat keeps the real
//     count. A user who accepted on another device is unknown to us until
//     the Mini-Program reports it.
//   - A send that fails for another reason (WeChat down) gives the credit
//     back but is not retried: a late "paid" message is worse than none.
package subscribe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// Sender is what the service needs of the WeChat client.
type Sender interface {
	SendSubscribeMessage(ctx context.Context, m wechat.SubscribeMessage) error
}

var _ Sender = (*wechat.Client)(nil)

// ErrBusy is returned when concurrent reports or pushes kept taking the
// user's last credits under the cap through every attempt; the client
// tries again.
var ErrBusy = apperr.New(apperr.Conflict, "conflict", "concurrent subscribe changes; try again")

// Limits.
const (
	MaxTemplates = 10 // templates in one report (WeChat asks at most 3 at a time)
	// MaxCredits bounds the credits kept per user and template. WeChat gives
	// one send per acceptance; a Mini-Program asks once per checkout, so a
	// handful covers the orders a user has in flight, while a client that
	// reports in a loop cannot bank more. Counting too many only costs a
	// 43101 answer (see OrderPaid); the cap keeps the error small.
	MaxCredits = 10
)

// Service keeps credits and sends the paid message (and others, SendOnce).
// It is safe for concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service { return &Service{st: st, o: o} }

// Options are the client and settings of a Service.
type Options struct {
	WeChat Sender           // nil: nothing is sent
	Now    func() time.Time // nil: time.Now
	// PaidTemplate is the template of the "order paid" message; "" sends none.
	PaidTemplate string
	// PaidFields maps the template's keys to order fields (see Fields).
	PaidFields Fields
	PaidPage   string // the page the message opens; "{order_id}" is replaced
	State      string // miniprogram_state: developer, trial, formal ("")
	// Templates are the other templates the server sends (the booking
	// reminder): reports bank credits for them as for PaidTemplate, and
	// SendOnce spends them.
	Templates []string
}

func creditKey(openid, template string) store.Key {
	return store.Key{PK: "sub#" + openid, SK: template}
}
func sentKey(ref string) store.Key { return store.Key{PK: "sub#sent#" + ref, SK: "sent"} }

func (s *Service) now() time.Time {
	if s.o.Now == nil {
		return time.Now()
	}
	return s.o.Now()
}

// Recorded is the outcome of Record.
type Recorded struct {
	Credits  map[string]int64 `json:"credits"` // template id → the user's credits after the report
	Replayed bool             `json:"-"`       // an Idempotency-Key seen before: the first answer
}

// IdemRecord is the Idempotency-Key action of Record.
const IdemRecord = "subscribe-record"

// maxRecordTries bounds the optimistic retries of Record against concurrent
// reports of the same user.
const maxRecordTries = 5

// Record adds one credit per "accept" in results (template id → accept,
// reject, ban or filter: the answer of wx.requestSubscribeMessage), up to
// MaxCredits per template, and returns the user's credits for the templates
// reported. Only templates the server sends (PaidTemplate, Templates) bank credits;
// others are answered with 0 and stored nowhere. With an idemKey seen before from openid it adds nothing and
// returns the first answer. Returns invalid_request errors, store errors.
func (s *Service) Record(ctx context.Context, openid string, results map[string]string, idemKey string) (Recorded, error) {
	if err := validResults(results); err != nil {
		return Recorded{}, err
	}
	ik, err := idem.New(IdemRecord, openid, idemKey, results)
	if err != nil {
		return Recorded{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return replayRecord(b, err)
	}
	for range maxRecordTries {
		out, ops, err := s.recordOps(ctx, openid, results)
		if err != nil {
			return Recorded{}, err
		}
		if !ik.IsZero() {
			b, _ := json.Marshal(out)
			ops = append(ops, ik.Op(b, s.now()))
		}
		if len(ops) == 0 {
			return out, nil // nothing accepted, no key: nothing to write
		}
		err = s.st.Write(ctx, ops...)
		switch i := store.FailedOp(err); {
		case err == nil:
			return out, nil
		case !ik.IsZero() && i == len(ops)-1:
			b, _, err := ik.Lookup(ctx, s.st)
			return replayRecord(b, err)
		case i < 0:
			return Recorded{}, err
		}
		// A concurrent report took the last credit below the cap: again.
	}
	return Recorded{}, ErrBusy.WithMessage("concurrent reports; try again")
}

func validResults(results map[string]string) error {
	if len(results) == 0 || len(results) > MaxTemplates {
		return apperr.Invalidf(`field "results" must hold 1 to %d template results`, MaxTemplates)
	}
	for tmpl, res := range results {
		if !ident.Valid(tmpl, 1, 128, "_-") {
			return apperr.Invalidf(`field "results": %q is not a template id`, tmpl)
		}
		switch res {
		case "accept", "reject", "ban", "filter":
		default:
			return apperr.Invalidf(`field "results.%s" must be accept, reject, ban or filter`, tmpl)
		}
	}
	return nil
}

// recordOps reads the user's credits for the reported templates and returns
// the counts after the report (as this report sees them: a concurrent one
// may add its own) and the Adds that make them so. The Adds are bounded by
// MaxCredits, not conditional on the count read, so concurrent reports all
// count; only one that meets the cap is tried again.
func (s *Service) recordOps(ctx context.Context, openid string, results map[string]string) (Recorded, []store.Op, error) {
	out := Recorded{Credits: make(map[string]int64, len(results))}
	var ops []store.Op
	// WeChat's push tells of the same popups, and is authoritative when it
	// comes (see Pushed): the report then only reads the credits.
	pushed, err := s.pushActive(ctx)
	if err != nil {
		return Recorded{}, nil, err
	}
	for tmpl, res := range results {
		if !s.sends(tmpl) {
			// Never sent by this server: a credit would be useless, and a
			// client could fill the store with made-up template ids.
			out.Credits[tmpl] = 0
			continue
		}
		n, err := s.Credits(ctx, openid, tmpl)
		if err != nil {
			return Recorded{}, nil, err
		}
		out.Credits[tmpl] = n
		if res != "accept" || n >= MaxCredits || pushed {
			continue
		}
		ops = append(ops, store.Add(creditKey(openid, tmpl), 1).AtMost(MaxCredits))
		out.Credits[tmpl]++
	}
	return out, ops, nil
}

// sends reports whether the server sends messages of template tmpl: the
// paid template, when one is configured, and Options.Templates.
func (s *Service) sends(tmpl string) bool {
	return tmpl != "" && (tmpl == s.o.PaidTemplate || slices.Contains(s.o.Templates, tmpl))
}

func replayRecord(b []byte, err error) (Recorded, error) {
	if err != nil {
		return Recorded{}, err
	}
	var out Recorded
	if err := json.Unmarshal(b, &out); err != nil {
		return Recorded{}, fmt.Errorf("subscribe: corrupt idempotency record: %w", err)
	}
	out.Replayed = true
	return out, nil
}

// Credits returns the user's credits for a template.
func (s *Service) Credits(ctx context.Context, openid, template string) (int64, error) {
	it, err := s.st.Get(ctx, creditKey(openid, template))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return it.N, err
}

// Paid is what the paid message may show.
type Paid struct {
	OpenID  string
	OrderID string
	Title   string // the first item's title
	Total   int64  // fen
	PaidAt  time.Time
}

// OrderPaid sends the paid message of an order once, if the user holds a
// credit. It reports whether a message went out. Its errors are for logs:
// a payment must never fail because a message could not be sent.
func (s *Service) OrderPaid(ctx context.Context, p Paid) (bool, error) {
	if s.o.PaidTemplate == "" {
		return false, nil
	}
	return s.SendOnce(ctx, p.OrderID, wechat.SubscribeMessage{
		ToUser: p.OpenID, TemplateID: s.o.PaidTemplate, Data: s.o.PaidFields.Data(p),
		Page: strings.ReplaceAll(s.o.PaidPage, "{order_id}", p.OrderID), State: s.o.State,
	})
}

// SendOnce sends m once for ref (what it is about: an order id for the
// paid message, "booking-<id>" for a booking's reminder; the caller keeps
// refs of different things apart), if m.ToUser holds a credit for
// m.TemplateID: the credit is taken and ref marked (put-if-absent) in one
// Write, so that calls repeated for the same ref (retried notifies, timer
// runs that overlap) send at most once. A ref first seen without a credit
// is marked too, so that a credit reported later never sends a late
// message. It reports whether a message went out; a send refused with
// 43101 leaves the credit spent, any other failure gives it back and is
// not retried. Its errors are for logs. m.State defaults to the service's.
func (s *Service) SendOnce(ctx context.Context, ref string, m wechat.SubscribeMessage) (bool, error) {
	if s.o.WeChat == nil || m.TemplateID == "" {
		return false, nil
	}
	if m.State == "" {
		m.State = s.o.State
	}
	ck := creditKey(m.ToUser, m.TemplateID)
	err := s.st.Write(ctx,
		store.Put(store.Item{Key: sentKey(ref), Value: []byte("sent")}).IfAbsent(),
		store.Add(ck, -1).IfExists().AtLeast(0))
	switch store.FailedOp(err) {
	case 0: // an earlier call took care of it
		return false, nil
	case 1:
		// No credit: mark the ref all the same, so that a credit reported
		// before a later duplicate call never sends a late message.
		err := s.st.Write(ctx, store.Put(store.Item{Key: sentKey(ref), Value: []byte("no_credit")}).IfAbsent())
		if errors.Is(err, store.ErrConditionFailed) {
			err = nil
		}
		return false, err
	}
	if err != nil {
		return false, err
	}
	err = s.o.WeChat.SendSubscribeMessage(ctx, m)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, wechat.ErrNoSubscription):
		// WeChat has no credit for it: ours was wrong; it stays spent.
		return false, err
	}
	if _, aerr := s.st.Add(ctx, store.Add(ck, 1).AtMost(MaxCredits)); aerr != nil {
		slog.WarnContext(ctx, "subscribe: giving a credit back failed", "ref", ref, "err", aerr)
	}
	return false, err
}

// Fields maps template keys ("thing1") to order fields: order_id, title,
// total (yuan, "12.34"), paid_at ("2006-01-02 15:04", China time).
type Fields map[string]string

// DefaultFields suits a template with an order number, an amount and a time.
var DefaultFields = Fields{"character_string1": "order_id", "amount2": "total", "time3": "paid_at"}

// ParseFields reads "key=field,key=field".
func ParseFields(s string) (Fields, error) {
	f := Fields{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		switch v {
		case "order_id", "title", "total", "paid_at":
		default:
			ok = false
		}
		if !ok || k == "" {
			return nil, fmt.Errorf("subscribe fields: %q is not key=order_id|title|total|paid_at", pair)
		}
		f[k] = v
	}
	return f, nil
}

var chinaTime = time.FixedZone("CST", 8*3600)

// Data fills the template data from p.
func (f Fields) Data(p Paid) map[string]string {
	if len(f) == 0 {
		f = DefaultFields
	}
	out := make(map[string]string, len(f))
	for k, field := range f {
		switch field {
		case "order_id":
			out[k] = p.OrderID
		case "title":
			out[k] = truncate(p.Title, 20) // "thing" values are at most 20 characters
		case "total":
			out[k] = fmt.Sprintf("%d.%02d", p.Total/100, p.Total%100)
		case "paid_at":
			out[k] = p.PaidAt.In(chinaTime).Format("2006-01-02 15:04")
		}
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
