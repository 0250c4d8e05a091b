// Package member implements membership tiers. The merchant defines tiers by
// growth (the fen a user paid for orders, less what was refunded); a tier
// may give a discount percent on orders and a points multiplier. The rules
// are in docs/members.md.
//
// # Exact growth
//
// Growth is one counter per user, never written on its own: the order
// service asks GrowthOp for a store.Add and puts it in the Write that
// records the order's paid transition (+ the order's total, WeChat Pay part
// and balance part) and a refund's success (− the refunded amount). That
// Write is already conditioned so that the event happens once (the order's
// version, the notify id), so a notify delivered again, a query or a
// replayed request adds nothing, and a crash leaves both or neither.
//
// # Tiers are derived at read time
//
// A user's tier is not stored: it is the highest tier whose min_growth the
// growth reaches, read when asked. A refund that lowers the growth lowers
// the tier at once; a change of the tiers applies to everybody at once. The
// order service asks for the caller's tier when it creates an order and
// records on the order what the tier gave (member_discount, tier_id,
// points_multiplier): a change after that does not alter the order.
//
// # Key layout
//
//	member#tiers    / tiers     the tiers, JSON (one item, replaced whole by SetTiers)
//	member#<openid> / growth    N: the user's growth, fen
package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// Limits.
const (
	MaxTiers      = 20
	MaxID         = 32
	MaxName       = 32
	MaxDiscount   = 99 // percent: a tier never makes an order free
	MaxMultiplier = 10
	// MaxMinGrowth bounds a tier's threshold: 100 million yuan.
	MaxMinGrowth = 10_000_000_000
)

// Tier is one level of membership.
type Tier struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	MinGrowth int64  `json:"min_growth"` // fen
	// DiscountPercent is taken off an order's subtotal (0 to 99; 0: none).
	DiscountPercent int64 `json:"discount_percent,omitempty"`
	// PointsMultiplier multiplies the points a paid order earns (1 to 10;
	// 0 when absent, which counts as 1).
	PointsMultiplier int64 `json:"points_multiplier,omitempty"`
}

// Multiplier is the tier's points multiplier, 1 when none is set.
func (t Tier) Multiplier() int64 {
	if t.PointsMultiplier < 1 {
		return 1
	}
	return t.PointsMultiplier
}

// Member is a user's membership: growth and tier, read at the moment.
type Member struct {
	Tier     *Tier `json:"tier"` // null when no tier is defined
	Growth   int64 `json:"growth"`
	NextTier *Tier `json:"next_tier,omitempty"` // absent at the top tier
}

// Options are the settings of a Service.
type Options struct {
	Now func() time.Time
}

// Service reads and sets tiers and growth. It is safe for concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: st, o: o}
}

var tiersKey = store.Key{PK: "member#tiers", SK: "tiers"}

func growthKey(openid string) store.Key { return store.Key{PK: "member#" + openid, SK: "growth"} }

// GrowthOp returns the Add of delta fen to openid's growth. Put it in the
// Write that records the payment (+ the order's total) or the refund's
// success (− the amount refunded).
func GrowthOp(openid string, delta int64) store.Op {
	return store.Add(growthKey(openid), delta)
}

// GrowthOp is the package's GrowthOp, for the order service's interface.
func (s *Service) GrowthOp(openid string, delta int64) store.Op { return GrowthOp(openid, delta) }

// Validate checks tiers: 1 to MaxTiers, sorted by min_growth (strictly
// increasing), unique ids, the first at min_growth 0, discounts 0–99,
// multipliers 1–10 (or absent).
func Validate(tiers []Tier) error {
	if len(tiers) == 0 {
		return apperr.Invalidf(`field "tiers" must hold at least one tier`)
	}
	if len(tiers) > MaxTiers {
		return apperr.Invalidf(`field "tiers" holds more than %d tiers`, MaxTiers)
	}
	seen := map[string]bool{}
	for i, t := range tiers {
		f := func(name string) string { return fmt.Sprintf("tiers[%d].%s", i, name) }
		switch {
		case t.ID == "":
			return apperr.Invalidf(`field %q is required`, f("id"))
		case len(t.ID) > MaxID || !idChars(t.ID):
			return apperr.Invalidf(`field %q must be 1 to %d letters, digits, "-" or "_"`, f("id"), MaxID)
		case seen[t.ID]:
			return apperr.Invalidf(`field %q repeats the id %q`, f("id"), t.ID)
		case t.Name == "":
			return apperr.Invalidf(`field %q is required`, f("name"))
		case len([]rune(t.Name)) > MaxName:
			return apperr.Invalidf(`field %q is longer than %d characters`, f("name"), MaxName)
		case t.MinGrowth < 0 || t.MinGrowth > MaxMinGrowth:
			return apperr.Invalidf(`field %q must be 0 to %d`, f("min_growth"), int64(MaxMinGrowth))
		case i == 0 && t.MinGrowth != 0:
			return apperr.Invalidf(`field %q must be 0: the first tier is everybody's`, f("min_growth"))
		case i > 0 && t.MinGrowth <= tiers[i-1].MinGrowth:
			return apperr.Invalidf(`field %q must be above the previous tier's (tiers sorted by min_growth)`, f("min_growth"))
		case t.DiscountPercent < 0 || t.DiscountPercent > MaxDiscount:
			return apperr.Invalidf(`field %q must be 0 to %d`, f("discount_percent"), MaxDiscount)
		case t.PointsMultiplier != 0 && (t.PointsMultiplier < 1 || t.PointsMultiplier > MaxMultiplier):
			return apperr.Invalidf(`field %q must be 1 to %d`, f("points_multiplier"), MaxMultiplier)
		}
		seen[t.ID] = true
	}
	return nil
}

func idChars(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// SetTiers replaces the tiers (Validate's rules; apperr.Invalid otherwise).
// The change applies from the next order: orders already created keep what
// their tier gave.
func (s *Service) SetTiers(ctx context.Context, tiers []Tier) ([]Tier, error) {
	if err := Validate(tiers); err != nil {
		return nil, err
	}
	b, err := json.Marshal(tiers)
	if err != nil {
		return nil, err
	}
	if err := s.st.Write(ctx, store.Put(store.Item{Key: tiersKey, Value: b})); err != nil {
		return nil, err
	}
	return tiers, nil
}

// Tiers returns the tiers, lowest first (empty when none is defined).
func (s *Service) Tiers(ctx context.Context) ([]Tier, error) {
	it, err := s.st.Get(ctx, tiersKey)
	if errors.Is(err, store.ErrNotFound) {
		return []Tier{}, nil
	}
	if err != nil {
		return nil, err
	}
	var tiers []Tier
	if err := json.Unmarshal(it.Value, &tiers); err != nil {
		return nil, fmt.Errorf("member: corrupt tiers item: %w", err)
	}
	return tiers, nil
}

// Growth returns openid's growth in fen.
func (s *Service) Growth(ctx context.Context, openid string) (int64, error) {
	it, err := s.st.Get(ctx, growthKey(openid))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return it.N, err
}

// Get returns openid's membership: growth, tier and the next tier.
func (s *Service) Get(ctx context.Context, openid string) (Member, error) {
	tiers, err := s.Tiers(ctx)
	if err != nil {
		return Member{}, err
	}
	g, err := s.Growth(ctx, openid)
	if err != nil {
		return Member{}, err
	}
	return place(tiers, g), nil
}

// place is the member of growth g among tiers (sorted by MinGrowth).
func place(tiers []Tier, g int64) Member {
	m := Member{Growth: g}
	for i := range tiers {
		if g >= tiers[i].MinGrowth {
			m.Tier = &tiers[i]
			continue
		}
		m.NextTier = &tiers[i]
		break
	}
	return m
}

// TierOf returns openid's tier now (ok false when no tier is defined).
func (s *Service) TierOf(ctx context.Context, openid string) (t Tier, ok bool, err error) {
	m, err := s.Get(ctx, openid)
	if err != nil || m.Tier == nil {
		return Tier{}, false, err
	}
	return *m.Tier, true, nil
}

// OrderTier returns what openid's tier gives a new order now: its id, its
// discount percent and its points multiplier (id "" when no tier is
// defined). The order service records them on the order (order.Members).
//
// Every order create calls it: with no tier defined (a shop that does not
// use them) it reads the tiers item only, not the user's growth.
func (s *Service) OrderTier(ctx context.Context, openid string) (id string, discountPercent, multiplier int64, err error) {
	tiers, err := s.Tiers(ctx)
	if err != nil || len(tiers) == 0 {
		return "", 0, 1, err
	}
	g, err := s.Growth(ctx, openid)
	if err != nil {
		return "", 0, 1, err
	}
	t := place(tiers, g).Tier
	if t == nil {
		return "", 0, 1, nil
	}
	return t.ID, t.DiscountPercent, t.Multiplier(), nil
}
