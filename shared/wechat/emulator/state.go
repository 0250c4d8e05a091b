package emulator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/snapshot"
)

// KeepState keeps the emulator's state in the JSON file at path (mode
// 0600: it holds session keys and access tokens of the emulated app): the
// file is read now, if it exists, and written soon after each change and by
// Close, so that `minifn dev` restarts where it stopped. Call it on a new
// emulator, before it serves. Without it the emulator lives in memory only.
//
// Kept: login codes not yet redeemed, users (openid → test user) and their
// session keys, blocked users, access tokens and the stable-token state,
// phone-number codes, subscribe-message credits and the messages sent, the
// security state (visits, risk ranks, content words), shipping records and
// the shipping switches, and the pushes sent. Not kept, as they only count
// or arm something within one run: the per-minute login and Mini-Program
// code quotas, the API call counts (/_emulator/calls counts since start),
// armed faults, and the push configuration (SetPush, given at each start).
func (e *Emulator) KeepState(path string) error {
	if e.persist != nil {
		return errors.New("emulator: KeepState called twice")
	}
	var s state
	found, err := snapshot.Load(path, &s)
	if err != nil {
		return err
	}
	if found {
		if s.Version != stateVersion {
			return fmt.Errorf("emulator: %s: state version %d, want %d (delete it to start fresh)", path, s.Version, stateVersion)
		}
		e.restore(&s)
	}
	e.persist = snapshot.NewWriter(path, func() any { return e.snapshot() })
	return nil
}

// Close writes the state file a last time (KeepState); without one it does
// nothing.
func (e *Emulator) Close() error { return e.persist.Close() }

// changed schedules a write of the state file (none without KeepState).
func (e *Emulator) changed() { e.persist.Changed() }

const stateVersion = 1

type state struct {
	Version     int                   `json:"version"`
	Codes       []codeState           `json:"login_codes"`
	Users       []userState           `json:"users"`
	Blocked     []string              `json:"blocked,omitempty"`
	Tokens      []tokenState          `json:"access_tokens"`
	Stable      map[string]stableJSON `json:"stable_tokens,omitempty"`
	PhoneCodes  []codeState           `json:"phone_codes,omitempty"`
	Credits     []creditState         `json:"subscribe_credits,omitempty"`
	Sent        []SentMessage         `json:"subscribe_sent,omitempty"`
	Seen        map[string]time.Time  `json:"seen,omitempty"` // openid → last login
	Ranks       map[string]int        `json:"risk_ranks,omitempty"`
	IPs         map[string]string     `json:"risk_ips,omitempty"`
	Risky       []string              `json:"risky_words"`
	Review      []string              `json:"review_words"`
	SecuritySeq int64                 `json:"security_seq,omitempty"`
	Shipments   []Shipment            `json:"shipments,omitempty"`
	Unmanaged   map[string]bool       `json:"trade_unmanaged,omitempty"`
	ShippingOff map[string]bool       `json:"shipping_off,omitempty"`
	Pushes      []SentPush            `json:"pushes,omitempty"`
}

type codeState struct {
	Code    string    `json:"code"`
	AppID   string    `json:"appid"`
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

type userState struct {
	OpenID     string `json:"openid"`
	AppID      string `json:"appid"`
	User       string `json:"user"`
	SessionKey string `json:"session_key,omitempty"`
}

type tokenState struct {
	Token   string    `json:"token"`
	AppID   string    `json:"appid"`
	Expires time.Time `json:"expires"`
}

type stableJSON struct {
	Current    string    `json:"current"`
	ForceDay   string    `json:"force_day,omitempty"`
	ForceCount int       `json:"force_count,omitempty"`
	LastForce  time.Time `json:"last_force,omitempty"`
}

type creditState struct {
	AppID    string `json:"appid"`
	OpenID   string `json:"openid"`
	Template string `json:"template_id"`
	N        int    `json:"n"`
}

// snapshot returns the state to save. Each part is read under its own lock,
// one at a time, as the handlers take them.
func (e *Emulator) snapshot() *state {
	s := &state{Version: stateVersion, Codes: []codeState{}, Users: []userState{}, Tokens: []tokenState{},
		Stable: map[string]stableJSON{}}
	e.mu.Lock()
	for c, lc := range e.codes {
		s.Codes = append(s.Codes, codeState{c, lc.appid, lc.user, lc.expires})
	}
	for openid, k := range e.openids {
		s.Users = append(s.Users, userState{OpenID: openid, AppID: k.appid, User: k.user, SessionKey: e.sessionKeys[k]})
	}
	for u := range e.blocked {
		s.Blocked = append(s.Blocked, u)
	}
	for t, info := range e.tokens {
		s.Tokens = append(s.Tokens, tokenState{t, info.appid, info.expires})
	}
	for appid, st := range e.stable {
		s.Stable[appid] = stableJSON{st.current, st.forceDay, st.forceCount, st.lastForce}
	}
	e.mu.Unlock()

	e.phones.mu.Lock()
	for c, pc := range e.phones.codes {
		s.PhoneCodes = append(s.PhoneCodes, codeState{c, pc.appid, pc.user, pc.expires})
	}
	e.phones.mu.Unlock()

	e.subs.mu.Lock()
	for k, n := range e.subs.credits {
		s.Credits = append(s.Credits, creditState{k.appid, k.openid, k.template, n})
	}
	s.Sent = slices.Clone(e.subs.sent)
	e.subs.mu.Unlock()

	st := &e.security
	st.mu.Lock()
	s.Seen, s.Ranks, s.IPs = clone(st.seen), clone(st.ranks), clone(st.ips)
	s.Risky, s.Review, s.SecuritySeq = slices.Clone(st.risky), slices.Clone(st.review), st.seq
	st.mu.Unlock()

	e.ship.mu.Lock()
	for _, sh := range e.ship.shipments {
		c := *sh
		c.ShippingList = slices.Clone(sh.ShippingList)
		s.Shipments = append(s.Shipments, c)
	}
	s.Unmanaged, s.ShippingOff = clone(e.ship.unmanaged), clone(e.ship.off)
	e.ship.mu.Unlock()

	e.push.mu.Lock()
	s.Pushes = slices.Clone(e.push.sent)
	e.push.mu.Unlock()

	// A stable order, so that an unchanged state writes nothing.
	sortBy(s.Codes, func(c codeState) string { return c.Code })
	sortBy(s.Users, func(u userState) string { return u.OpenID })
	slices.Sort(s.Blocked)
	sortBy(s.Tokens, func(t tokenState) string { return t.Token })
	sortBy(s.PhoneCodes, func(c codeState) string { return c.Code })
	sortBy(s.Credits, func(c creditState) string { return c.AppID + "\x00" + c.OpenID + "\x00" + c.Template })
	sortBy(s.Shipments, func(sh Shipment) string { return sh.TransactionID })
	return s
}

// restore loads s into a new emulator.
func (e *Emulator) restore(s *state) {
	e.mu.Lock()
	for _, c := range s.Codes {
		e.codes[c.Code] = loginCode{userKey{c.AppID, c.User}, c.Expires}
	}
	for _, u := range s.Users {
		k := userKey{u.AppID, u.User}
		e.openids[u.OpenID] = k
		if u.SessionKey != "" {
			e.sessionKeys[k] = u.SessionKey
		}
	}
	for _, u := range s.Blocked {
		e.blocked[u] = true
	}
	for _, t := range s.Tokens {
		e.tokens[t.Token] = token{t.AppID, t.Expires}
	}
	for appid, st := range s.Stable {
		e.stable[appid] = &stable{st.Current, st.ForceDay, st.ForceCount, st.LastForce}
	}
	e.mu.Unlock()

	e.phones.mu.Lock()
	for _, c := range s.PhoneCodes {
		if e.phones.codes == nil {
			e.phones.codes = map[string]phoneCode{}
		}
		e.phones.codes[c.Code] = phoneCode{userKey{c.AppID, c.User}, c.Expires}
	}
	e.phones.mu.Unlock()

	e.subs.mu.Lock()
	for _, c := range s.Credits {
		if e.subs.credits == nil {
			e.subs.credits = map[creditKey]int{}
		}
		e.subs.credits[creditKey{c.AppID, c.OpenID, c.Template}] = c.N
	}
	e.subs.sent = s.Sent
	e.subs.mu.Unlock()

	st := &e.security
	st.mu.Lock()
	st.seen, st.ranks, st.ips = s.Seen, s.Ranks, s.IPs
	st.risky, st.review, st.seq = s.Risky, s.Review, s.SecuritySeq
	st.mu.Unlock()

	e.ship.mu.Lock()
	for i := range s.Shipments {
		sh := s.Shipments[i]
		e.ship.shipments[sh.TransactionID] = &sh
	}
	for k, v := range s.Unmanaged {
		e.ship.unmanaged[k] = v
	}
	for k, v := range s.ShippingOff {
		e.ship.off[k] = v
	}
	e.ship.mu.Unlock()

	e.push.mu.Lock()
	e.push.sent = s.Pushes
	e.push.mu.Unlock()
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
