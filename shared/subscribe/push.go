package subscribe

import (
	"context"
	"errors"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// Change is what a pushed subscribe message event does to a user's
// credits for one template.
type Change uint8

const (
	// Credit banks one credit (a popup "accept"), up to MaxCredits.
	Credit Change = iota + 1
	// Clear drops every credit (a popup "reject", a change to "reject" in
	// the user's settings, a send refused with 43101).
	Clear
)

// PushTTL is how long the push stays authoritative after its last subscribe
// event: client reports bank nothing meanwhile (see Pushed).
const PushTTL = 7 * 24 * time.Hour

func pushKey() store.Key { return store.Key{PK: "sub#push", SK: "active"} }

// pushActive reports whether WeChat's push delivered a subscribe event
// within PushTTL.
func (s *Service) pushActive(ctx context.Context) (bool, error) {
	_, err := s.st.Get(ctx, pushKey())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Pushed applies the changes of one pushed subscribe message event
// (template id → change) to openid's credits, with extra ops (the push's
// done mark) in the same Write. Templates the server does not send are
// ignored, as in Record.
//
// WeChat's push and the Mini-Program's report (Record) tell of the same
// wx.requestSubscribeMessage popup. To count each popup once, the push is
// authoritative: Pushed marks the service as fed by the push (sub#push,
// for PushTTL), and while that mark lives Record banks nothing. A server
// without the push configured keeps counting the reports. The first popup
// after the push is configured may count twice (the report may come
// first); an extra credit costs one 43101 at most.
//
// Returns store errors, and a conflict after repeated concurrent changes.
func (s *Service) Pushed(ctx context.Context, openid string, changes map[string]Change, extra ...store.Op) error {
	for range maxRecordTries {
		ops := append([]store.Op{}, extra...)
		ops = append(ops, store.Put(store.Item{Key: pushKey(), Value: []byte("1"), ExpiresAt: s.now().Add(PushTTL)}))
		for tmpl, c := range changes {
			if !s.sends(tmpl) || openid == "" {
				continue
			}
			k := creditKey(openid, tmpl)
			switch c {
			case Clear:
				ops = append(ops, store.Delete(k))
			case Credit:
				n, err := s.Credits(ctx, openid, tmpl)
				if err != nil {
					return err
				}
				if n < MaxCredits {
					ops = append(ops, store.Add(k, 1).AtMost(MaxCredits))
				}
			}
		}
		err := s.st.Write(ctx, ops...)
		if store.FailedOp(err) < len(extra) {
			return err // nil, a store error, or an extra op's condition
		}
		// A concurrent report or push met the cap: read again.
	}
	return ErrBusy
}
