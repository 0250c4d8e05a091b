package coupon_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store"
)

// clock is a settable clock shared by a store and a Service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 6, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore counts the Writes that reach the store.
type countingStore struct {
	store.Store
	writes atomic.Int64
}

func (s *countingStore) Write(ctx context.Context, ops ...store.Op) error {
	s.writes.Add(1)
	return s.Store.Write(ctx, ops...)
}

func (s *countingStore) Add(ctx context.Context, op store.Op) (int64, error) {
	s.writes.Add(1)
	return s.Store.Add(ctx, op)
}

// mustCampaign creates a campaign or fails the test.
func mustCampaign(t testing.TB, svc *coupon.Service, in coupon.CampaignInput) coupon.CampaignView {
	t.Helper()
	if in.Title == "" {
		in.Title = "10 yuan off"
	}
	if in.Discount == nil {
		in.Discount = &coupon.Discount{AmountOff: 1000}
	}
	if in.ValidUntil == "" && in.ValidDays == 0 {
		in.ValidDays = 7
	}
	v, _, err := svc.CreateCampaign(context.Background(), in, "")
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	return v
}
