package member_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/member"
	"github.com/minifn/minifn/shared/store/storetest"
)

func TestValidate(t *testing.T) {
	base := func() []member.Tier {
		return []member.Tier{{ID: "a", Name: "A"}, {ID: "b", Name: "B", MinGrowth: 100, DiscountPercent: 5, PointsMultiplier: 2}}
	}
	if err := member.Validate(base()); err != nil {
		t.Fatalf("valid tiers: %v", err)
	}
	for _, c := range []struct {
		field string
		edit  func([]member.Tier) []member.Tier
	}{
		{`"tiers"`, func([]member.Tier) []member.Tier { return nil }},
		{`"tiers[0].min_growth"`, func(ts []member.Tier) []member.Tier { ts[0].MinGrowth = 1; return ts }},
		{`"tiers[1].min_growth"`, func(ts []member.Tier) []member.Tier { ts[1].MinGrowth = 0; return ts }},
		{`"tiers[1].id"`, func(ts []member.Tier) []member.Tier { ts[1].ID = "a"; return ts }},
		{`"tiers[1].id"`, func(ts []member.Tier) []member.Tier { ts[1].ID = "b c"; return ts }},
		{`"tiers[0].name"`, func(ts []member.Tier) []member.Tier { ts[0].Name = ""; return ts }},
		{`"tiers[1].discount_percent"`, func(ts []member.Tier) []member.Tier { ts[1].DiscountPercent = 100; return ts }},
		{`"tiers[1].discount_percent"`, func(ts []member.Tier) []member.Tier { ts[1].DiscountPercent = -1; return ts }},
		{`"tiers[1].points_multiplier"`, func(ts []member.Tier) []member.Tier { ts[1].PointsMultiplier = 11; return ts }},
		{`"tiers[1].points_multiplier"`, func(ts []member.Tier) []member.Tier { ts[1].PointsMultiplier = -1; return ts }},
	} {
		err := member.Validate(c.edit(base()))
		if apperr.From(err).Kind != apperr.Invalid || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
}

// TestGetDerivesTier: the tier is derived from growth at read time, so a
// negative op (a refund) lowers it and a change of tiers applies at once.
func TestGetDerivesTier(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t, time.Now)
			ms := member.New(st, member.Options{})
			ctx := context.Background()
			if m, err := ms.Get(ctx, "u"); err != nil || m.Tier != nil || m.NextTier != nil || m.Growth != 0 {
				t.Fatalf("no tiers: %+v %v", m, err)
			}
			if _, err := ms.SetTiers(ctx, []member.Tier{{ID: "a", Name: "A"}, {ID: "b", Name: "B", MinGrowth: 100}}); err != nil {
				t.Fatal(err)
			}
			if err := st.Write(ctx, member.GrowthOp("u", 150)); err != nil {
				t.Fatal(err)
			}
			if m, _ := ms.Get(ctx, "u"); m.Tier.ID != "b" || m.NextTier != nil || m.Growth != 150 {
				t.Fatalf("at 150: %+v", m)
			}
			if err := st.Write(ctx, member.GrowthOp("u", -60)); err != nil {
				t.Fatal(err)
			}
			if m, _ := ms.Get(ctx, "u"); m.Tier.ID != "a" || m.NextTier.ID != "b" || m.Growth != 90 {
				t.Fatalf("at 90: %+v", m)
			}
			if id, pct, mult, err := ms.OrderTier(ctx, "u"); err != nil || id != "a" || pct != 0 || mult != 1 {
				t.Fatalf("OrderTier: %q %d %d %v", id, pct, mult, err)
			}
		})
	}
}
