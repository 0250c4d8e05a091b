package moderation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/minifn/minifn/shared/moderation"
	"github.com/minifn/minifn/shared/wechat"
)

// checker answers v or err. (The HTTP tests in shared/functions drive the
// real client against the emulator; this covers what they cannot reach.)
type checker struct {
	v     wechat.TextVerdict
	err   error
	calls int
}

func (c *checker) MsgSecCheck(ctx context.Context, req wechat.TextCheck) (wechat.TextVerdict, error) {
	c.calls++
	return c.v, c.err
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	wx := &checker{v: wechat.TextVerdict{Suggest: wechat.SuggestRisky}}
	s := moderation.New(moderation.Options{WeChat: wx})
	if v, err := s.Check(ctx, "o1", moderation.SceneComment, " \n "); err != nil || v.Review || wx.calls != 0 {
		t.Fatalf("blank text: %+v %v (%d calls)", v, err, wx.calls)
	}
	if _, err := s.Check(ctx, "o1", moderation.SceneComment, "x"); !errors.Is(err, moderation.ErrRisky) {
		t.Fatalf("risky: %v", err)
	}
	// No WeChat client: stored, flagged unchecked.
	var none *moderation.Service
	if v, err := none.Check(ctx, "o1", moderation.SceneComment, "x"); err != nil || !v.Review || v.Reason != moderation.ReasonUnchecked {
		t.Fatalf("no client: %+v %v", v, err)
	}
	// The client hung up: nothing to store, not "unchecked".
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	wx.err = context.Canceled
	if _, err := s.Check(cctx, "o1", moderation.SceneComment, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
