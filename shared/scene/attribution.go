package scene

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// Touch is where a user or an order came from.
type Touch struct {
	Scene    string    `json:"scene,omitempty"`
	Referrer string    `json:"referrer,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// Validate checks the shapes: a scene as WeChat allows, a referrer shaped
// like a referrer id.
func (t Touch) Validate() error {
	if t.Scene != "" && !wechat.ValidScene(t.Scene) {
		return apperr.Invalidf(`field "scene" must be 1 to 32 characters of [0-9A-Za-z!#$&'()*+,/:;=?@-._~]`)
	}
	if t.Referrer != "" && !ident.Valid(t.Referrer, 1, 64, "_-") {
		return apperr.Invalidf(`field "referrer" must be a referrer id (the "referrer" param of a scene)`)
	}
	return nil
}

const statsPK = "scene#stats"

func firstKey(openid string) store.Key { return store.Key{PK: "scene#u#" + openid, SK: "first"} }
func paidKey(orderID string) store.Key { return store.Key{PK: "scene#o#" + orderID, SK: "paid"} }
func statKey(dim, id, what string) store.Key {
	return store.Key{PK: statsPK, SK: dim + "#" + id + "#" + what}
}

// Resolve completes a touch the Mini-Program reports for openid: a scene
// this service never made is dropped (it would only pollute the counters),
// a missing referrer is taken from the scene's params, a referrer id never
// made here is dropped, and a user is never their own referrer. It also
// returns the openid behind the referrer, which only the counters see.
func (s *Service) Resolve(ctx context.Context, openid string, t Touch) (Touch, string, error) {
	if err := t.Validate(); err != nil {
		return Touch{}, "", err
	}
	if t.Scene != "" {
		e, err := s.Lookup(ctx, t.Scene)
		switch {
		case errors.Is(err, ErrNotFound):
			t.Scene = ""
		case err != nil:
			return Touch{}, "", err
		case t.Referrer == "":
			t.Referrer = e.Params[ReferrerParam]
		}
	}
	ref, err := s.referrerOpenID(ctx, t.Referrer)
	if err != nil {
		return Touch{}, "", err
	}
	if ref == "" || ref == openid {
		t.Referrer, ref = "", ""
	}
	return t, ref, nil
}

// FirstTouch records t as the user's first scene and referrer if they have
// none yet, counting the user once under each, and returns the first touch
// on record (t resolved, or an earlier one). An empty t records nothing.
func (s *Service) FirstTouch(ctx context.Context, openid string, t Touch) (Touch, error) {
	t, ref, err := s.Resolve(ctx, openid, t)
	if err != nil || (t.Scene == "" && t.Referrer == "") {
		return Touch{}, err
	}
	t.At = s.now().UTC().Truncate(time.Second)
	b, _ := json.Marshal(t)
	ops := []store.Op{store.Put(store.Item{Key: firstKey(openid), Value: b}).IfAbsent()}
	ops = append(ops, counters(t.Scene, ref, "users", 1)...)
	if op, ok := stats.SceneOp(t.Scene, t.At, openid); ok { // the day's counter (package stats)
		ops = append(ops, op)
	}
	err = s.st.Write(ctx, ops...)
	if store.FailedOp(err) != 0 {
		return t, err
	}
	it, err := s.st.Get(ctx, firstKey(openid))
	if err != nil {
		return Touch{}, err
	}
	var first Touch
	err = json.Unmarshal(it.Value, &first)
	return first, err
}

// counters are the Adds of one event under a scene and a referrer's openid.
func counters(sc, ref, what string, n int64) []store.Op {
	var ops []store.Op
	if sc != "" {
		ops = append(ops, store.Add(statKey("scene", sc, what), n))
	}
	if ref != "" {
		ops = append(ops, store.Add(statKey("ref", ref, what), n))
	}
	return ops
}

// OrderPaid counts a paid order of owner, of total fen, once under its own
// scene and referrer (t, as the order recorded what the Mini-Program sent;
// resolved as Resolve does). Repeating it changes nothing.
func (s *Service) OrderPaid(ctx context.Context, owner, orderID string, t Touch, total int64) error {
	if t.Scene == "" && t.Referrer == "" {
		return nil
	}
	t, ref, err := s.Resolve(ctx, owner, t)
	if err != nil && apperr.KindOf(err) == apperr.Invalid {
		return nil // a malformed touch on an order counts nowhere
	}
	if err != nil || (t.Scene == "" && ref == "") {
		return err
	}
	ops := []store.Op{store.Put(store.Item{Key: paidKey(orderID), Value: []byte("1")}).IfAbsent()}
	ops = append(ops, counters(t.Scene, ref, "orders", 1)...)
	ops = append(ops, counters(t.Scene, ref, "revenue", total)...)
	if err := s.st.Write(ctx, ops...); store.FailedOp(err) != 0 {
		return err
	}
	return nil
}

// Stat is one line of the summary.
type Stat struct {
	Scene      string `json:"scene,omitempty"`
	Page       string `json:"page,omitempty"`
	Referrer   string `json:"referrer,omitempty"` // the referrer's openid: the summary is the admin's only
	Users      int64  `json:"users"`
	PaidOrders int64  `json:"paid_orders"`
	PaidTotal  int64  `json:"paid_total"` // fen
}

// Summary is the attribution report.
type Summary struct {
	ByScene    []Stat `json:"by_scene"`
	ByReferrer []Stat `json:"by_referrer"`
}

// maxStatPages bounds a summary's reads (1,000 counters a page).
const maxStatPages = 20

// Summarize returns users and paid orders by scene and by referrer, each
// sorted by paid total, then users, descending.
func (s *Service) Summarize(ctx context.Context) (Summary, error) {
	scenes, refs := map[string]*Stat{}, map[string]*Stat{}
	after := ""
	for page := 0; page < maxStatPages; page++ {
		items, next, err := s.st.Query(ctx, statsPK, store.Query{After: after, Limit: 1000})
		if err != nil {
			return Summary{}, err
		}
		for _, it := range items {
			dim, rest, _ := strings.Cut(it.SK, "#")
			i := strings.LastIndexByte(rest, '#')
			if i < 0 {
				continue
			}
			id, what := rest[:i], rest[i+1:]
			m := scenes
			if dim == "ref" {
				m = refs
			}
			st := m[id]
			if st == nil {
				st = &Stat{}
				if dim == "ref" {
					st.Referrer = id
				} else {
					st.Scene = id
				}
				m[id] = st
			}
			switch what {
			case "users":
				st.Users = it.N
			case "orders":
				st.PaidOrders = it.N
			case "revenue":
				st.PaidTotal = it.N
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	out := Summary{ByScene: sorted(scenes), ByReferrer: sorted(refs)}
	for i := range out.ByScene {
		if e, err := s.Lookup(ctx, out.ByScene[i].Scene); err == nil {
			out.ByScene[i].Page = e.Page
		}
	}
	return out, nil
}

func sorted(m map[string]*Stat) []Stat {
	out := make([]Stat, 0, len(m))
	for _, st := range m {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PaidTotal != b.PaidTotal {
			return a.PaidTotal > b.PaidTotal
		}
		if a.Users != b.Users {
			return a.Users > b.Users
		}
		return a.Scene+a.Referrer < b.Scene+b.Referrer
	})
	return out
}
