package risk_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/risk"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat"
)

// ranker answers rank, or err, and counts calls. (The HTTP tests in
// shared/functions drive the real client against the emulator; this only
// injects what the emulator cannot: a store that fails, a missing IP.)
type ranker struct {
	rank  int
	err   error
	calls int
}

func (r *ranker) GetUserRiskRank(ctx context.Context, req wechat.RiskRankRequest) (wechat.RiskRank, error) {
	r.calls++
	if req.Scene != wechat.RiskSceneMarketing {
		return wechat.RiskRank{}, errors.New("scene is not 1")
	}
	return wechat.RiskRank{Rank: r.rank}, r.err
}

// brokenStore fails every read as an unreachable store does.
type brokenStore struct{ store.Store }

func (brokenStore) Get(context.Context, store.Key) (store.Item, error) {
	return store.Item{}, store.Unavailable(errors.New("down"))
}

func TestAllow(t *testing.T) {
	ctx := context.Background()
	var off *risk.Service
	if err := off.Allow(ctx, "o1", "203.0.113.1"); err != nil {
		t.Fatalf("nil service: %v", err)
	}
	st := storetest.MustOpenBolt(t)
	wx := &ranker{rank: 2}
	s := risk.New(st, risk.Options{WeChat: wx, Max: 2, Now: time.Now})
	if err := s.Allow(ctx, "o1", "203.0.113.1"); err != nil || wx.calls != 1 {
		t.Fatalf("rank 2 of max 2: %v (%d calls)", err, wx.calls)
	}
	// No client IP: WeChat requires one; not asked, failing open or closed.
	if err := s.Allow(ctx, "o2", ""); err != nil || wx.calls != 1 {
		t.Fatalf("no IP, fail open: %v (%d calls)", err, wx.calls)
	}
	s = risk.New(st, risk.Options{WeChat: wx, Max: 2, Now: time.Now, FailClosed: true})
	if err := s.Allow(ctx, "o2", ""); !errors.Is(err, risk.ErrUnchecked) {
		t.Fatalf("no IP, fail closed: %v", err)
	}
	// Our store failing is not WeChat failing: the error stands, open or closed.
	s = risk.New(brokenStore{st}, risk.Options{WeChat: wx, Max: 2, Now: time.Now})
	if err := s.Allow(ctx, "o1", "203.0.113.1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("store down: %v", err)
	}
}
