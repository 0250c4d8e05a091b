package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// remindBatch bounds the reminders one run handles; the timer runs every
// minute, and what is left waits for the next run.
const remindBatch = 200

// Remind tells the Reminder of every booked booking whose slot starts
// within RemindBefore from now, and forgets them: each one once, however
// many runs overlap (the Reminder's own mark makes the send once; the
// index item goes once told). Bookings whose slot has started by the run
// are dropped untold: a reminder after the start is noise. It returns how
// many messages went out. A send that fails is logged and not retried, as
// the order-paid message (package subscribe).
func (s *Service) Remind(ctx context.Context) (int, error) {
	if s.o.Reminder == nil {
		return 0, nil
	}
	now := s.now()
	cutoff := fmt.Sprintf("%012d", now.Add(s.o.RemindBefore).Unix())
	items, _, err := s.st.Query(ctx, remindPK, store.Query{Limit: remindBatch})
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, it := range items {
		if it.SK > cutoff {
			break // sorted by slot start: the rest are not due yet
		}
		b, _, err := s.get(ctx, string(it.Value))
		switch {
		case errors.Is(err, ErrBookingNotFound):
		case err != nil:
			return sent, err
		case b.Status == StatusBooked && b.Start().After(now):
			ok, err := s.o.Reminder.Remind(ctx, b)
			if err != nil {
				slog.WarnContext(ctx, "booking: reminder not sent", "booking", b.ID, "err", err)
			}
			if ok {
				sent++
			}
		}
		if err := s.st.Write(ctx, store.Delete(it.Key)); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// Fields maps a reminder template's keys ("time2") to booking fields:
// booking_id, store_id, slot (its start, "2006-01-02 15:04", China Standard
// Time: a "time" value, 24-hour, date allowed), party_size.
type Fields map[string]string

// DefaultFields suits a template with a booking number, a time and a
// number of people.
var DefaultFields = Fields{"character_string1": "booking_id", "time2": "slot", "number3": "party_size"}

// ParseFields reads "key=field,key=field".
func ParseFields(s string) (Fields, error) {
	f := Fields{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		switch v {
		case "booking_id", "store_id", "slot", "party_size":
		default:
			ok = false
		}
		if !ok || k == "" {
			return nil, fmt.Errorf("booking fields: %q is not key=booking_id|store_id|slot|party_size", pair)
		}
		f[k] = v
	}
	return f, nil
}

// Data fills a reminder's template data from b.
func (f Fields) Data(b Booking) map[string]string {
	if len(f) == 0 {
		f = DefaultFields
	}
	out := make(map[string]string, len(f))
	for k, field := range f {
		switch field {
		case "booking_id":
			out[k] = b.ID
		case "store_id":
			out[k] = b.StoreID
		case "slot":
			out[k] = b.Start().In(Location).Format("2006-01-02 15:04")
		case "party_size":
			out[k] = strconv.Itoa(b.PartySize)
		}
	}
	return out
}

// Sender is what a subscribe-message reminder needs of package subscribe
// (*subscribe.Service).
type Sender interface {
	SendOnce(ctx context.Context, ref string, m wechat.SubscribeMessage) (bool, error)
}

// SubscribeReminder returns the Reminder that sends template through s:
// to a user holding a credit for it (wx.requestSubscribeMessage accepted
// and reported), once per booking (ref "booking-<id>"), opening page
// ("{booking_id}" is replaced), with data filled by f (DefaultFields when
// empty).
func SubscribeReminder(s Sender, template, page string, f Fields) Reminder {
	return subscribeReminder{s: s, template: template, page: page, fields: f}
}

type subscribeReminder struct {
	s        Sender
	template string
	page     string
	fields   Fields
}

func (r subscribeReminder) Remind(ctx context.Context, b Booking) (bool, error) {
	return r.s.SendOnce(ctx, "booking-"+b.ID, wechat.SubscribeMessage{
		ToUser: b.OpenID, TemplateID: r.template, Data: r.fields.Data(b),
		Page: strings.ReplaceAll(r.page, "{booking_id}", b.ID),
	})
}
