package coupon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store/storetest"
)

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"7K3M-Q9XZ-0B2C-HJ4N":   "7K3MQ9XZ0B2CHJ4N",
		"7k3m q9xz 0b2c hj4n":   "7K3MQ9XZ0B2CHJ4N",
		"7K3M-Q9XZ-OB2C-HJ4N":   "7K3MQ9XZ0B2CHJ4N", // O reads as 0
		"ilIL-0000-0000-0000":   "1111000000000000",
		"7K3M-Q9XZ-0B2C-HJ4":    "",
		"7K3M-Q9XZ-0B2C-HJ4NN":  "",
		"7K3M-Q9XZ-0B2C-HJ4U":   "", // U is not in the alphabet
		"7K3M-Q9XZ-0B2C-HJ4Ñ":   "",
		"../../code#x/../aaaaa": "",
	} {
		got, ok := coupon.NormalizeCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeCode(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	if got := coupon.FormatCode("7K3MQ9XZ0B2CHJ4N"); got != "7K3M-Q9XZ-0B2C-HJ4N" {
		t.Errorf("FormatCode: %q", got)
	}
}

// TestCouponStatus: expiry is computed on read, the filter sees it, and the
// code owes nothing to the id.
func TestCouponStatus(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			svc := coupon.New(b.Open(t, clk.Now), coupon.Options{Now: clk.Now})
			ctx := context.Background()
			short := mustCampaign(t, svc, coupon.CampaignInput{Stock: 5, ValidDays: 1})
			long := mustCampaign(t, svc, coupon.CampaignInput{Stock: 5, ValidUntil: clk.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)})
			a, _, err := svc.Claim(ctx, "alice", short.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if !a.ValidUntil.Equal(clk.Now().Add(24*time.Hour)) || !a.ValidFrom.Equal(clk.Now()) {
				t.Errorf("relative validity: %s to %s", a.ValidFrom, a.ValidUntil)
			}
			clk.Advance(time.Second)
			bc, _, err := svc.Claim(ctx, "alice", long.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if !bc.ValidUntil.Equal(clk.Now().Add(-time.Second).Add(30 * 24 * time.Hour)) {
				t.Errorf("absolute validity: until %s", bc.ValidUntil)
			}
			if canon, ok := coupon.NormalizeCode(a.Code); !ok || len(canon)*5 < 80 || a.Code == bc.Code {
				t.Errorf("codes %q %q", a.Code, bc.Code)
			}
			clk.Advance(24*time.Hour + time.Second)
			byStatus := func(s coupon.Status) []coupon.Coupon {
				list, err := svc.Coupons(ctx, "alice", s)
				if err != nil {
					t.Fatal(err)
				}
				return list
			}
			if all := byStatus(""); len(all) != 2 || all[0].ID != bc.ID {
				t.Fatalf("listing %+v, want 2, newest first", all)
			}
			if exp := byStatus(coupon.Expired); len(exp) != 1 || exp[0].ID != a.ID {
				t.Errorf("expired: %+v", exp)
			}
			if us := byStatus(coupon.Usable); len(us) != 1 || us[0].ID != bc.ID {
				t.Errorf("usable: %+v", us)
			}
			if _, err := svc.Redeem(ctx, coupon.Redeemer{Admin: true}, a.Code); !errors.Is(err, coupon.ErrExpired) {
				t.Errorf("redeem expired: %v", err)
			}
			if _, err := svc.Coupon(ctx, "bob", a.ID); !errors.Is(err, coupon.ErrCouponNotFound) {
				t.Errorf("another user's coupon: %v", err)
			}
			if _, err := coupon.ParseStatus("lost"); err == nil {
				t.Error("ParseStatus accepted lost")
			}
		})
	}
}

func TestRedeemStaff(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			// The staff role is package outlet's: the real one, on the same store.
			staff := outlet.New(st, outlet.Options{Now: clk.Now})
			svc := coupon.New(st, coupon.Options{Now: clk.Now, Staff: staff})
			ctx := context.Background()
			camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: 5, PerUserLimit: 5})
			c1, _, _ := svc.Claim(ctx, "alice", camp.ID, "")
			c2, _, _ := svc.Claim(ctx, "alice", camp.ID, "")
			clerk := coupon.Redeemer{OpenID: "clerk"}
			if _, err := svc.Redeem(ctx, clerk, c1.Code); !errors.Is(err, coupon.ErrNotStaff) {
				t.Fatalf("redeem before grant: %v", err)
			}
			if _, err := staff.GrantStaff(ctx, "clerk", ""); err != nil {
				t.Fatal(err)
			}
			used, err := svc.Redeem(ctx, clerk, c1.Code)
			if err != nil || used.Status != coupon.Used || used.UsedAt == nil || used.ID != c1.ID || used.RedeemedStoreID != "" {
				t.Fatalf("redeem by staff: %+v %v", used, err)
			}
			if _, err := svc.Redeem(ctx, clerk, c1.Code); !errors.Is(err, coupon.ErrAlreadyUsed) {
				t.Errorf("second redeem: %v", err)
			}
			if _, err := svc.Redeem(ctx, clerk, "0000-0000-0000-0000"); !errors.Is(err, coupon.ErrUnknownCode) {
				t.Errorf("unknown code: %v", err)
			}
			if got, _ := svc.Coupon(ctx, "alice", c1.ID); got.Status != coupon.Used {
				t.Errorf("owner sees %s", got.Status)
			}
			if err := staff.RevokeStaff(ctx, "clerk"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Redeem(ctx, clerk, c2.Code); !errors.Is(err, coupon.ErrNotStaff) {
				t.Errorf("redeem after revoke: %v", err)
			}
			if _, err := coupon.New(st, coupon.Options{Now: clk.Now}).Redeem(ctx, clerk, c2.Code); !errors.Is(err, coupon.ErrNotStaff) {
				t.Errorf("redeem with no staff directory: %v", err)
			}
			// Staff of a store record it on what they redeem; the admin may
			// name one, which must exist.
			shop, _, err := staff.Create(ctx, outlet.Edit{Name: ptr("Shop"), Address: ptr("1 Road"), Lat: ptr(31.2), Lng: ptr(121.4)}, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := staff.GrantStaff(ctx, "clerk", shop.ID); err != nil {
				t.Fatal(err)
			}
			if used, err := svc.Redeem(ctx, coupon.Redeemer{OpenID: "clerk", StoreID: "ignored"}, c2.Code); err != nil || used.RedeemedStoreID != shop.ID {
				t.Errorf("redeem by staff of a store: %+v %v", used, err)
			}
			c3, _, _ := svc.Claim(ctx, "alice", camp.ID, "")
			if _, err := svc.Redeem(ctx, coupon.Redeemer{Admin: true, StoreID: "nope"}, c3.Code); !errors.Is(err, outlet.ErrStoreNotFound) {
				t.Errorf("admin redeem at an unknown store: %v", err)
			}
			if used, err := svc.Redeem(ctx, coupon.Redeemer{Admin: true, StoreID: shop.ID}, c3.Code); err != nil || used.RedeemedStoreID != shop.ID {
				t.Errorf("admin redeem at a store: %+v %v", used, err)
			}
			if got, _ := svc.Coupon(ctx, "alice", c3.ID); got.RedeemedStoreID != shop.ID {
				t.Errorf("the owner's coupon: %+v", got)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
