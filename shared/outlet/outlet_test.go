package outlet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func ptr[T any](v T) *T { return &v }

// edit is a valid create of a store named name at (lat, lng).
func edit(name string, lat, lng float64) outlet.Edit {
	return outlet.Edit{Name: ptr(name), Address: ptr("1 " + name + " Road"), Lat: ptr(lat), Lng: ptr(lng)}
}

func TestGeohash(t *testing.T) {
	// Known values: Wikipedia's example, and the cell of a point in Shanghai
	// (31.2304, 121.4737) as other geohash libraries give it.
	for _, c := range []struct {
		lat, lng float64
		prec     int
		want     string
	}{
		{57.64911, 10.40744, 11, "u4pruydqqvj"},
		{31.2304, 121.4737, 6, "wtw3sj"},
		{-90, -180, 4, "0000"},
		{90, 180, 4, "zzzz"},
	} {
		if got := outlet.Geohash(c.lat, c.lng, c.prec); got != c.want {
			t.Errorf("Geohash(%v, %v, %d) = %s, want %s", c.lat, c.lng, c.prec, got, c.want)
		}
	}
}

func TestDistance(t *testing.T) {
	// One degree of latitude on the mean sphere: πR/180.
	if d := outlet.Distance(30, 120, 31, 120); d < 111194 || d > 111196 {
		t.Errorf("1° of latitude: %v m", d)
	}
	// Two points in central Shanghai, about 1.9 km apart.
	if d := outlet.Distance(31.2304, 121.4737, 31.2400, 121.4900); d < 1800 || d > 1950 {
		t.Errorf("Shanghai: %v m", d)
	}
	if d := outlet.Distance(10, 179.9995, 10, -179.9995); d > 120 {
		t.Errorf("across the antimeridian: %v m", d)
	}
}

func TestHours(t *testing.T) {
	h := outlet.Hours{"mon": {{Open: "09:00", Close: "12:00"}, {Open: "13:00", Close: "24:00"}}, "tue": {{Open: "00:00", Close: "02:00"}}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	cst := func(day, hm string) time.Time { // 2030-06-03 is a Monday
		tm, _ := time.ParseInLocation("2006-01-02 15:04", "2030-06-0"+day+" "+hm, outlet.CST)
		return tm
	}
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{cst("3", "08:59"), false}, {cst("3", "09:00"), true}, {cst("3", "11:59"), true}, {cst("3", "12:00"), false},
		{cst("3", "12:30"), false}, {cst("3", "23:59"), true}, {cst("4", "01:59"), true}, {cst("4", "02:00"), false},
		{cst("5", "10:00"), false},
		{time.Date(2030, 6, 3, 1, 30, 0, 0, time.UTC), true}, // 09:30 in China
	} {
		if got := h.OpenAt(c.at); got != c.open {
			t.Errorf("open at %v: %v, want %v", c.at, got, c.open)
		}
	}
	if !(outlet.Hours(nil)).OpenAt(cst("5", "03:00")) {
		t.Error("no hours: always open")
	}
	for _, bad := range []outlet.Hours{
		{"monday": {{Open: "09:00", Close: "10:00"}}},
		{"mon": {{Open: "9:00", Close: "10:00"}}},
		{"mon": {{Open: "09:00", Close: "24:01"}}},
		{"mon": {{Open: "24:00", Close: "24:00"}}},
		{"mon": {{Open: "10:00", Close: "09:00"}}},
		{"mon": {{Open: "10:00", Close: "10:00"}}},
		{"mon": {{Open: "09:00", Close: "12:00"}, {Open: "11:00", Close: "13:00"}}},
		{"mon": {{Open: "+9:00", Close: "12:00"}}},
		{"mon": {{Open: "01:00", Close: "02:00"}, {Open: "03:00", Close: "04:00"}, {Open: "05:00", Close: "06:00"}, {Open: "07:00", Close: "08:00"}, {Open: "09:00", Close: "10:00"}}},
	} {
		if err := bad.Validate(); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestStoreAndCheckOpen(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := &clock{time.Date(2030, 6, 3, 2, 0, 0, 0, time.UTC)} // Monday 10:00 in China
			svc := outlet.New(b.Open(t, clk.Now), outlet.Options{Now: clk.Now})
			ctx := context.Background()
			e := edit("Jing'an", 31.2304, 121.4737)
			e.Hours = &outlet.Hours{"mon": {{Open: "09:00", Close: "21:00"}}}
			st, replayed, err := svc.Create(ctx, e, "")
			if err != nil || replayed || st.ID == "" || st.Status != outlet.Open || st.Version != 1 {
				t.Fatalf("create: %+v %v %v", st, replayed, err)
			}
			got, err := svc.Get(ctx, st.ID)
			if err != nil || got.Name != "Jing'an" || got.Lat != 31.2304 || got.Hours["mon"][0].Close != "21:00" {
				t.Fatalf("get: %+v %v", got, err)
			}
			if err := svc.CheckOpen(ctx, st.ID); err != nil {
				t.Fatalf("open on Monday 10:00: %v", err)
			}
			clk.t = clk.t.Add(12 * time.Hour) // 22:00
			if err := svc.CheckOpen(ctx, st.ID); !errors.Is(err, outlet.ErrStoreClosed) {
				t.Fatalf("Monday 22:00: %v", err)
			}
			clk.t = clk.t.Add(-12 * time.Hour)
			if _, err := svc.Update(ctx, st.ID, outlet.Edit{Status: ptr(outlet.Closed)}); err != nil {
				t.Fatal(err)
			}
			if err := svc.CheckOpen(ctx, st.ID); !errors.Is(err, outlet.ErrStoreClosed) {
				t.Fatalf("closed by status: %v", err)
			}
			for _, id := range []string{"nope", "a#b", ""} {
				if err := svc.CheckOpen(ctx, id); !errors.Is(err, outlet.ErrStoreNotFound) {
					t.Errorf("CheckOpen(%q): %v", id, err)
				}
			}
		})
	}
}

func TestStaffStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			svc := outlet.New(b.Open(t, time.Now), outlet.Options{})
			ctx := context.Background()
			a, _, err := svc.Create(ctx, edit("A", 31.2, 121.4), "")
			if err != nil {
				t.Fatal(err)
			}
			bs, _, _ := svc.Create(ctx, edit("B", 31.3, 121.5), "")
			if _, err := svc.StaffStore(ctx, "clerk"); !errors.Is(err, outlet.ErrNotStaff) {
				t.Fatalf("not yet staff: %v", err)
			}
			if _, err := svc.GrantStaff(ctx, "clerk", "nope"); !errors.Is(err, outlet.ErrStoreNotFound) {
				t.Fatalf("grant at an unknown store: %v", err)
			}
			if _, err := svc.StaffStore(ctx, "clerk"); !errors.Is(err, outlet.ErrNotStaff) {
				t.Fatalf("a refused grant granted: %v", err)
			}
			first, err := svc.GrantStaff(ctx, "clerk", a.ID)
			if err != nil || first.StoreID != a.ID {
				t.Fatalf("grant at A: %+v %v", first, err)
			}
			if at, err := svc.StaffStore(ctx, "clerk"); at != a.ID || err != nil {
				t.Fatalf("StaffStore: %q %v", at, err)
			}
			if err := svc.CheckStaffOf(ctx, "clerk", bs.ID); !errors.Is(err, outlet.ErrNotStoreStaff) {
				t.Fatalf("staff of A at B: %v", err)
			}
			moved, err := svc.GrantStaff(ctx, "clerk", bs.ID)
			if err != nil || moved.StoreID != bs.ID || !moved.GrantedAt.Equal(first.GrantedAt) {
				t.Fatalf("move to B: %+v %v", moved, err)
			}
			list := func(storeID string) []string {
				t.Helper()
				l, _, err := svc.ListStaff(ctx, storeID, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, s := range l {
					ids = append(ids, s.OpenID+"@"+s.StoreID)
				}
				return ids
			}
			if got := list(a.ID); len(got) != 0 {
				t.Fatalf("A's staff after the move: %v", got)
			}
			if got := list(bs.ID); len(got) != 1 || got[0] != "clerk@"+bs.ID {
				t.Fatalf("B's staff: %v", got)
			}
			if _, _, err := svc.ListStaff(ctx, "nope", "", 10); !errors.Is(err, outlet.ErrStoreNotFound) {
				t.Fatalf("staff of an unknown store: %v", err)
			}
			if _, err := svc.GrantStaff(ctx, "clerk", ""); err != nil {
				t.Fatal(err)
			}
			if got := list(bs.ID); len(got) != 0 {
				t.Fatalf("B's staff after unbinding: %v", got)
			}
			if err := svc.CheckStaffOf(ctx, "clerk", bs.ID); !errors.Is(err, outlet.ErrNotStoreStaff) {
				t.Fatalf("staff of no one store at B: %v", err)
			}
			if _, err := svc.GrantStaff(ctx, "clerk", a.ID); err != nil {
				t.Fatal(err)
			}
			if err := svc.RevokeStaff(ctx, "clerk"); err != nil {
				t.Fatal(err)
			}
			if got := list(a.ID); len(got) != 0 {
				t.Fatalf("A's staff after revoking: %v", got)
			}
			if ok, err := svc.IsStaff(ctx, "clerk"); ok || err != nil {
				t.Fatalf("IsStaff after revoking: %v %v", ok, err)
			}
		})
	}
}
