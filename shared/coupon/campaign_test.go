package coupon_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store/storetest"
)

func TestCampaignInputValidate(t *testing.T) {
	now := newClock().Now()
	good := func() coupon.CampaignInput {
		return coupon.CampaignInput{Title: "t", Discount: &coupon.Discount{AmountOff: 500}, Stock: 10, ValidDays: 3}
	}
	for name, tc := range map[string]struct {
		edit  func(*coupon.CampaignInput)
		field string // "" means valid; else named as other routes do: field "…"
	}{
		"ok":                 {func(*coupon.CampaignInput) {}, ""},
		"percent with cap":   {func(in *coupon.CampaignInput) { in.Discount = &coupon.Discount{PercentOff: 20, MaxOff: 1000} }, ""},
		"absolute validity":  {func(in *coupon.CampaignInput) { in.ValidDays, in.ValidUntil = 0, "2030-07-01T00:00:00Z" }, ""},
		"no title":           {func(in *coupon.CampaignInput) { in.Title = " " }, "title"},
		"no discount":        {func(in *coupon.CampaignInput) { in.Discount = nil }, "discount"},
		"both discounts":     {func(in *coupon.CampaignInput) { in.Discount = &coupon.Discount{AmountOff: 1, PercentOff: 5} }, "discount"},
		"percent 100":        {func(in *coupon.CampaignInput) { in.Discount = &coupon.Discount{PercentOff: 100} }, "discount.percent_off"},
		"cap on amount":      {func(in *coupon.CampaignInput) { in.Discount = &coupon.Discount{AmountOff: 5, MaxOff: 5} }, "discount.max_off"},
		"stock 0":            {func(in *coupon.CampaignInput) { in.Stock = 0 }, "stock"},
		"shards over stock":  {func(in *coupon.CampaignInput) { in.StockShards = 11 }, "stock_shards"},
		"shards over max":    {func(in *coupon.CampaignInput) { in.Stock, in.StockShards = 1000, 65 }, "stock_shards"},
		"negative limit":     {func(in *coupon.CampaignInput) { in.PerUserLimit = -1 }, "per_user_limit"},
		"negative min_spend": {func(in *coupon.CampaignInput) { in.MinSpend = -1 }, "min_spend"},
		"no validity":        {func(in *coupon.CampaignInput) { in.ValidDays = 0 }, "valid_until"},
		"both validities":    {func(in *coupon.CampaignInput) { in.ValidUntil = "2030-07-01T00:00:00Z" }, "valid_days"},
		"past valid_until":   {func(in *coupon.CampaignInput) { in.ValidDays, in.ValidUntil = 0, "2020-01-01T00:00:00Z" }, "valid_until"},
		"bad time":           {func(in *coupon.CampaignInput) { in.ClaimStartsAt = "tomorrow" }, "claim_starts_at"},
		"window backwards": {func(in *coupon.CampaignInput) {
			in.ClaimStartsAt, in.ClaimEndsAt = "2030-06-03T00:00:00Z", "2030-06-02T00:00:00Z"
		}, "claim_ends_at"},
	} {
		t.Run(name, func(t *testing.T) {
			in := good()
			tc.edit(&in)
			c, err := in.Validate(now)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.PerUserLimit != 1 || c.StockShards != 1 || c.State != coupon.StateActive {
					t.Errorf("defaults not applied: %+v", c)
				}
				return
			}
			if apperr.CodeOf(err) != "invalid_request" || !strings.Contains(err.Error(), `field "`+tc.field+`"`) {
				t.Errorf("err %v, want invalid_request naming %q", err, tc.field)
			}
		})
	}
}

func TestDiscountOff(t *testing.T) {
	for _, tc := range []struct {
		d              coupon.Discount
		subtotal, want int64
	}{
		{coupon.Discount{AmountOff: 500}, 2000, 500},
		{coupon.Discount{AmountOff: 500}, 300, 300},  // capped at the subtotal
		{coupon.Discount{PercentOff: 20}, 1999, 399}, // rounded down
		{coupon.Discount{PercentOff: 20, MaxOff: 300}, 5000, 300},
		{coupon.Discount{PercentOff: 20, MaxOff: 300}, 1000, 200},
		{coupon.Discount{PercentOff: 99}, 1, 0},
		{coupon.Discount{AmountOff: 500}, 0, 0},
	} {
		if got := tc.d.Off(tc.subtotal); got != tc.want {
			t.Errorf("%+v on %d: %d, want %d", tc.d, tc.subtotal, got, tc.want)
		}
	}
}

// TestCampaignLifecycle: the claim window, pause, resume and end, as claims
// and listings see them.
func TestCampaignLifecycle(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			svc := coupon.New(st, coupon.Options{Now: clk.Now, CacheTTL: -1})
			ctx := context.Background()
			start := clk.Now().Add(time.Hour)
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 10, StockShards: 3,
				ClaimStartsAt: start.Format(time.RFC3339), ClaimEndsAt: start.Add(time.Hour).Format(time.RFC3339)})
			users := 0
			claim := func(want error) {
				t.Helper()
				users++
				if _, _, err := svc.Claim(ctx, fmt.Sprint("user", users), camp.ID, ""); !errors.Is(err, want) && !(want == nil && err == nil) {
					t.Fatalf("claim: %v, want %v", err, want)
				}
			}
			listed := func(all bool) string {
				t.Helper()
				list, err := svc.Campaigns(ctx, all)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range list {
					if v.ID == camp.ID {
						return v.Status
					}
				}
				return "absent"
			}
			claim(coupon.ErrNotStarted)
			if s := listed(false); s != coupon.StatusUpcoming {
				t.Errorf("listed as %s before start", s)
			}
			clk.Advance(time.Hour)
			claim(nil)
			for _, step := range []struct {
				a      coupon.Action
				claim  error
				public string
			}{
				{coupon.Pause, coupon.ErrCampaignPaused, "absent"},
				{coupon.Pause, coupon.ErrCampaignPaused, "absent"},
				{coupon.Resume, nil, coupon.StatusActive},
				{coupon.End, coupon.ErrCampaignEnded, "absent"},
			} {
				if _, err := svc.SetState(ctx, camp.ID, step.a); err != nil {
					t.Fatalf("%s: %v", step.a, err)
				}
				claim(step.claim)
				if s := listed(false); s != step.public {
					t.Errorf("after %s listed as %s, want %s", step.a, s, step.public)
				}
			}
			if _, err := svc.SetState(ctx, camp.ID, coupon.Resume); !errors.Is(err, coupon.ErrCampaignEnded) {
				t.Errorf("resume after end: %v", err)
			}
			if s := listed(true); s != coupon.StatusEnded {
				t.Errorf("admin listing shows %s, want ended", s)
			}
			if v, _ := svc.Campaign(ctx, camp.ID); v.Remaining != 8 {
				t.Errorf("remaining %d, want 8 (two claims)", v.Remaining)
			}
			if _, err := svc.SetState(ctx, "nope", coupon.Pause); !errors.Is(err, coupon.ErrCampaignNotFound) {
				t.Errorf("pause unknown: %v", err)
			}

			// The window closing ends a campaign too.
			camp2 := mustCampaign(t, svc, coupon.CampaignInput{Stock: 1, ClaimEndsAt: clk.Now().Add(time.Minute).Format(time.RFC3339)})
			clk.Advance(time.Minute)
			if _, _, err := svc.Claim(ctx, "bob", camp2.ID, ""); !errors.Is(err, coupon.ErrCampaignEnded) {
				t.Errorf("claim after claim_ends_at: %v", err)
			}
			if _, _, err := svc.Claim(ctx, "bob", "no-such-campaign", ""); !errors.Is(err, coupon.ErrCampaignNotFound) {
				t.Errorf("claim unknown campaign: %v", err)
			}
		})
	}
}

// TestShardsSplitStock: the stock is spread over the shards, remaining is
// their sum, and every unit can be claimed whichever shards run dry first.
func TestShardsSplitStock(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			svc := coupon.New(b.Open(t, clk.Now), coupon.Options{Now: clk.Now})
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 11, StockShards: 4})
			if camp.Remaining != 11 || camp.StockShards != 4 {
				t.Fatalf("created %+v", camp)
			}
			for i := range 11 {
				if _, _, err := svc.Claim(context.Background(), "u"+string(rune('a'+i)), camp.ID, ""); err != nil {
					t.Fatalf("claim %d of 11: %v", i+1, err)
				}
			}
			if _, _, err := svc.Claim(context.Background(), "late", camp.ID, ""); !errors.Is(err, coupon.ErrSoldOut) {
				t.Fatalf("12th claim: %v", err)
			}
		})
	}
}
