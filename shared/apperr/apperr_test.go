package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
)

// Two packages' sentinels that share a kind and a code, as coupon.ErrBusy and
// store.ErrConditionFailed do.
var (
	errA = apperr.New(apperr.Conflict, "conflict", "the item changed; try again")
	errB = apperr.New(apperr.Conflict, "conflict", "the order changed; try again")
)

func TestIsMatchesIdentityNotCode(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"sentinel itself", errA, errA, true},
		{"same code, other sentinel", errA, errB, false},
		{"same code, other sentinel, reversed", errB, errA, false},
		{"WithMessage copy", errA.WithMessage("sku %q", "x"), errA, true},
		{"WithMessage copy, other sentinel", errA.WithMessage("sku %q", "x"), errB, false},
		{"Wrap copy", errA.Wrap(errors.New("cause")), errA, true},
		{"copy of a copy", errA.WithMessage("m").Wrap(errors.New("c")), errA, true},
		{"fmt-wrapped copy", fmt.Errorf("ctx: %w", errA.WithMessage("m")), errA, true},
		{"a copy is not a target for its sentinel", errA, errA.WithMessage("m"), false},
		{"freshly made twin", apperr.New(apperr.Conflict, "conflict", "the item changed; try again"), errA, false},
		{"foreign error", errors.New("conflict: the item changed; try again"), errA, false},
		{"nil target", errA, (*apperr.Error)(nil), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
}

func TestCopiesKeepTheSentinelIntact(t *testing.T) {
	c := errA.WithMessage("other").Wrap(errors.New("cause"))
	if errA.Message != "the item changed; try again" || errA.Err != nil {
		t.Fatalf("the sentinel changed: %+v", errA)
	}
	if c.Message != "other" || c.Code != "conflict" || c.Kind != apperr.Conflict {
		t.Fatalf("copy = %+v", c)
	}
	if !errors.Is(c, c.Err) {
		t.Fatal("the cause is not in the chain")
	}
}

func TestClasses(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", errB.WithMessage("m"))
	if !apperr.HasCode(err, "conflict") || apperr.HasCode(err, "sold_out") {
		t.Fatal("HasCode")
	}
	if apperr.HasCode(errors.New("conflict"), "conflict") {
		t.Fatal("HasCode matched a foreign error")
	}
	if apperr.KindOf(err) != apperr.Conflict || apperr.CodeOf(err) != "conflict" {
		t.Fatalf("KindOf/CodeOf = %v/%s", apperr.KindOf(err), apperr.CodeOf(err))
	}
	if got := apperr.From(errors.New("boom")); got.Kind != apperr.Internal || got.Message != "internal error" || got.Err == nil {
		t.Fatalf("From(foreign) = %+v", got)
	}
	if apperr.From(nil) != nil {
		t.Fatal("From(nil) is not nil")
	}
}

func TestErrorText(t *testing.T) {
	if got := errA.Error(); got != "conflict: the item changed; try again" {
		t.Fatalf("Error() = %q", got)
	}
	if got := errA.Wrap(errors.New("disk")).Error(); got != "conflict: the item changed; try again: disk" {
		t.Fatalf("Error() = %q", got)
	}
	if got := apperr.Invalidf("field %q is required", "sku"); got.Code != "invalid_request" || got.Kind != apperr.Invalid || got.Message != `field "sku" is required` {
		t.Fatalf("Invalidf = %+v", got)
	}
}
