package points

import (
	"math/rand/v2"
	"testing"
)

// TestTakenBackNeverDrifts: however a total is split into refunds, the
// points taken back add up to P·R/T rounded after each one, and to exactly
// P at the end.
func TestTakenBackNeverDrifts(t *testing.T) {
	if got := takenBack(119, 1000, 5970); got != 20 { // 19.93
		t.Fatalf("takenBack(119, 1000, 5970) = %d, want 20", got)
	}
	if got := takenBack(1, 1, 2); got != 1 { // half rounds up
		t.Fatalf("takenBack(1, 1, 2) = %d, want 1", got)
	}
	if got := takenBack(1<<40, 1<<40, 1<<41); got != 1<<39 { // no overflow
		t.Fatalf("big: %d", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		total := 1 + rng.Int64N(100_000)
		p := rng.Int64N(2000)
		var refunded, sum int64
		for refunded < total {
			before := refunded
			refunded += 1 + rng.Int64N(total-refunded)
			d := takenBack(p, refunded, total) - takenBack(p, before, total)
			if d < 0 {
				t.Fatalf("P=%d T=%d: a refund to %d gives back %d", p, total, refunded, d)
			}
			sum += d
			if want := (2*p*refunded + total) / (2 * total); refunded < total && sum != want {
				t.Fatalf("P=%d T=%d R=%d: %d taken back in all, want %d", p, total, refunded, sum, want)
			}
		}
		if sum != p {
			t.Fatalf("P=%d T=%d: %d taken back in all", p, total, sum)
		}
	}
}
