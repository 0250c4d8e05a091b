// Package subscribe implements subscribe-message credits and the message
// sent when an order is paid.
//
// A Mini-Program may message a user once per acceptance in
// wx.requestSubscribeMessage. The Mini-Program reports each call's result
// (Record); every "accept" is one credit for that template. When an order is
// paid and the user holds a credit for the configured template, one message
// is sent (OrderPaid): the credit is taken and the order marked in one
// Write, so a notify that arrives three times sends once. WeChat's 43101
// (no quota left) means our count was off: the credit stays spent and the
// send is not retried.
//
// # Keys
//
//	sub#<openid>          / <template id>  N: the user's credits for the template
//	sub#sent#<order id>   / sent           the paid message of the order was attempted
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
	"errors"
	"fmt"
	"github.com/minifn/minifn/shared/ident"
	"log/slog"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// Sender is what the service needs of the WeChat client.
type Sender interface {
	SendSubscribeMessage(ctx context.Context, m wechat.SubscribeMessage) error
}

var _ Sender = (*wechat.Client)(nil)

// Limits.
const (
	MaxTemplates = 10   // templates in one report (WeChat asks at most 3 at a time)
	MaxCredits   = 1000 // credits kept per user and template
)

// Service keeps credits and sends the paid message. It is safe for
// concurrent use.
type Service struct {
	Store  store.Store
	WeChat Sender // nil: nothing is sent
	Now    func() time.Time
	// PaidTemplate is the template of the "order paid" message; "" sends none.
	PaidTemplate string
	// PaidFields maps the template's keys to order fields (see Fields).
	PaidFields Fields
	PaidPage   string // the page the message opens; "{order_id}" is replaced
	State      string // miniprogram_state: developer, trial, formal ("")
}

func creditKey(openid, template string) store.Key {
	return store.Key{PK: "sub#" + openid, SK: template}
}
func sentKey(orderID string) store.Key { return store.Key{PK: "sub#sent#" + orderID, SK: "sent"} }

// Record adds one credit per "accept" in results (template id → accept,
// reject, ban or filter: the answer of wx.requestSubscribeMessage) and
// returns the user's credits for the templates reported. Returns
// invalid_request errors, store errors.
func (s *Service) Record(ctx context.Context, openid string, results map[string]string) (map[string]int64, error) {
	if len(results) == 0 || len(results) > MaxTemplates {
		return nil, apperr.Invalidf(`field "results" must hold 1 to %d template results`, MaxTemplates)
	}
	out := make(map[string]int64, len(results))
	for tmpl, res := range results {
		if !ident.Valid(tmpl, 1, 128, "_-") {
			return nil, apperr.Invalidf(`field "results": %q is not a template id`, tmpl)
		}
		switch res {
		case "accept", "reject", "ban", "filter":
		default:
			return nil, apperr.Invalidf(`field "results.%s" must be accept, reject, ban or filter`, tmpl)
		}
	}
	for tmpl, res := range results {
		if res != "accept" {
			n, err := s.Credits(ctx, openid, tmpl)
			if err != nil {
				return nil, err
			}
			out[tmpl] = n
			continue
		}
		n, err := s.Store.Add(ctx, store.Add(creditKey(openid, tmpl), 1).AtMost(MaxCredits))
		if errors.Is(err, store.ErrConditionFailed) {
			n, err = MaxCredits, nil
		}
		if err != nil {
			return nil, err
		}
		out[tmpl] = n
	}
	return out, nil
}

// Credits returns the user's credits for a template.
func (s *Service) Credits(ctx context.Context, openid, template string) (int64, error) {
	it, err := s.Store.Get(ctx, creditKey(openid, template))
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
	if s.PaidTemplate == "" || s.WeChat == nil {
		return false, nil
	}
	ck := creditKey(p.OpenID, s.PaidTemplate)
	err := s.Store.Write(ctx,
		store.Put(store.Item{Key: sentKey(p.OrderID), Value: []byte(p.OpenID)}).IfAbsent(),
		store.Add(ck, -1).IfExists().AtLeast(0))
	switch store.FailedOp(err) {
	case 0, 1: // already attempted, or no credit
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = s.WeChat.SendSubscribeMessage(ctx, wechat.SubscribeMessage{
		ToUser: p.OpenID, TemplateID: s.PaidTemplate, Data: s.PaidFields.Data(p),
		Page: strings.ReplaceAll(s.PaidPage, "{order_id}", p.OrderID), State: s.State,
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, wechat.ErrNoSubscription):
		// WeChat has no credit for it: ours was wrong; it stays spent.
		return false, err
	}
	if _, aerr := s.Store.Add(ctx, store.Add(ck, 1).AtMost(MaxCredits)); aerr != nil {
		slog.WarnContext(ctx, "subscribe: giving a credit back failed", "order", p.OrderID, "err", aerr)
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
