package giftcard_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/store/storetest"
)

// TestPurchasePaidOnce: a card's payment is recorded once however many
// times the notify is delivered and queries race it; it credits no wallet.
func TestPurchasePaidOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			c := e.paidCard(t, "alice", 5000)
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tx, err := e.client.Query(ctx, c.OutTradeNo)
					if err == nil {
						_, err = e.g.HandlePayment(ctx, tx)
					}
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			for _, d := range e.emu.Notifies() {
				if err := e.emu.Resend(d.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			e.settle(t)
			got, err := e.g.Get(ctx, "alice", c.ID)
			if err != nil || got.Status != giftcard.Paid || got.TransactionID == "" || got.Role != giftcard.RoleBuyer {
				t.Fatalf("card %+v, %v", got, err)
			}
			if bal := e.check(t, "alice"); bal.Balance != 0 {
				t.Errorf("the purchase credited alice's wallet: %+v", bal)
			}
			if _, err := e.g.Get(ctx, "bob", c.ID); !errors.Is(err, giftcard.ErrNotFound) {
				t.Errorf("bob reads alice's card: %v", err)
			}
			if _, _, err := e.g.Send(ctx, "bob", c.ID); !errors.Is(err, giftcard.ErrNotFound) {
				t.Errorf("bob sends alice's card: %v", err)
			}
		})
	}
}

// TestClaimRace: N claimers of one token at once: exactly one wins, the
// value is in exactly one wallet, once; the buyer cannot claim; the token
// is one-time.
func TestClaimRace(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			c := e.paidCard(t, "alice", 3000)
			old, _, err := e.g.Send(ctx, "alice", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			token, sent, err := e.g.Send(ctx, "alice", c.ID) // sent again: the old token stops working
			if err != nil || sent.Status != giftcard.Sent {
				t.Fatalf("send: %+v, %v", sent, err)
			}
			if _, err := e.g.Claim(ctx, "zed", old); !errors.Is(err, giftcard.ErrTokenInvalid) {
				t.Fatalf("claim with the replaced token: %v", err)
			}
			if _, err := e.g.Claim(ctx, "alice", token); !errors.Is(err, giftcard.ErrOwnCard) {
				t.Fatalf("buyer claims own card: %v", err)
			}
			const n = 12
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := e.g.Claim(ctx, fmt.Sprintf("u%d", i), token)
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, giftcard.ErrClaimed):
					default:
						t.Errorf("claimer %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d claimers won; want 1", wins.Load())
			}
			var total int64
			winner := ""
			for i := range n {
				u := fmt.Sprintf("u%d", i)
				bal := e.check(t, u)
				total += bal.Balance
				if bal.Balance != 0 {
					winner = u
					if bal.Bonus != 3000 {
						t.Errorf("%s: %+v; want 3000 of bonus", u, bal)
					}
				}
			}
			if total != 3000 {
				t.Fatalf("claimers hold %d in all; want 3000", total)
			}
			if _, err := e.g.Claim(ctx, winner, token); !errors.Is(err, giftcard.ErrClaimed) {
				t.Errorf("second claim by the winner: %v", err)
			}
			if _, err := e.g.Revoke(ctx, "alice", c.ID); !errors.Is(err, giftcard.ErrClaimed) {
				t.Errorf("revoke after claim: %v", err)
			}
			if bal := e.check(t, "alice"); bal.Balance != 0 {
				t.Errorf("alice: %+v", bal)
			}
			lw, _, err := e.g.List(ctx, winner, "", 10)
			if err != nil || len(lw) != 1 || lw[0].Role != giftcard.RoleClaimer || lw[0].Status != giftcard.Claimed {
				t.Errorf("winner's list: %+v, %v", lw, err)
			}
			la, _, err := e.g.List(ctx, "alice", "", 10)
			if err != nil || len(la) != 1 || la[0].Role != giftcard.RoleBuyer {
				t.Errorf("alice's list: %+v, %v", la, err)
			}
		})
	}
}

// TestClaimRevokeRace: a claim and the buyer's revoke racing: exactly one
// wins; the value is in exactly one wallet; the loser is refused.
func TestClaimRevokeRace(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			const rounds = 6
			var claims, revokes int64
			for i := range rounds {
				c := e.paidCard(t, "alice", 1000)
				token, _, err := e.g.Send(ctx, "alice", c.ID)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				var cerr, rerr [3]error
				for j := range 3 {
					wg.Add(2)
					go func() { defer wg.Done(); _, cerr[j] = e.g.Claim(ctx, fmt.Sprintf("r%d-%d", i, j), token) }()
					go func() { defer wg.Done(); _, rerr[j] = e.g.Revoke(ctx, "alice", c.ID) }()
				}
				wg.Wait()
				won := 0
				for j := range 3 {
					if cerr[j] == nil {
						won++
						claims++
					} else if !errors.Is(cerr[j], giftcard.ErrRevoked) && !errors.Is(cerr[j], giftcard.ErrClaimed) {
						t.Errorf("claim: %v", cerr[j])
					}
					if rerr[j] == nil {
						won++
						revokes++
					} else if !errors.Is(rerr[j], giftcard.ErrRevoked) && !errors.Is(rerr[j], giftcard.ErrClaimed) {
						t.Errorf("revoke: %v", rerr[j])
					}
				}
				if won != 1 {
					t.Fatalf("round %d: %d winners; want 1", i, won)
				}
				got, _ := e.g.Get(ctx, "alice", c.ID)
				want := giftcard.ErrClaimed
				if got.Status == giftcard.Revoked {
					want = giftcard.ErrRevoked
				}
				if _, err := e.g.Claim(ctx, "late", token); !errors.Is(err, want) {
					t.Errorf("a late claim of a %s card: %v", got.Status, err)
				}
				if _, err := e.g.Revoke(ctx, "alice", c.ID); !errors.Is(err, want) {
					t.Errorf("a late revoke of a %s card: %v", got.Status, err)
				}
			}
			var held int64
			for i := range rounds {
				for j := range 3 {
					held += e.check(t, fmt.Sprintf("r%d-%d", i, j)).Balance
				}
			}
			a := e.check(t, "alice")
			if held != claims*1000 || a.Principal != revokes*1000 || held+a.Balance != rounds*1000 {
				t.Fatalf("claimers hold %d (%d claims), alice %+v (%d revokes); want %d in all", held, claims, a, revokes, rounds*1000)
			}
			if late := e.check(t, "late"); late.Balance != 0 {
				t.Errorf("late: %+v", late)
			}
		})
	}
}

// TestRefusals: what cannot be sent, claimed or taken back.
func TestRefusals(t *testing.T) {
	e := newEnv(t, storetest.Backends(t)[0])
	ctx := context.Background()
	b, err := e.g.Buy(ctx, "alice", 100, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.g.Send(ctx, "alice", b.Card.ID); !errors.Is(err, giftcard.ErrNotPaid) {
		t.Errorf("send unpaid: %v", err)
	}
	if _, err := e.g.Revoke(ctx, "alice", b.Card.ID); !errors.Is(err, giftcard.ErrNotPaid) {
		t.Errorf("revoke unpaid: %v", err)
	}
	for _, amount := range []int64{0, -1, giftcard.MaxAmount + 1} {
		if _, err := e.g.Buy(ctx, "alice", amount, "", ""); err == nil {
			t.Errorf("amount %d accepted", amount)
		}
	}
	for _, tok := range []string{"", "x", "00000000000000000000000000000000"} {
		if _, err := e.g.Claim(ctx, "bob", tok); !errors.Is(err, giftcard.ErrTokenInvalid) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	c := e.paidCard(t, "alice", 700)
	token, _, err := e.g.Send(ctx, "alice", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Revoke(ctx, "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Claim(ctx, "bob", token); !errors.Is(err, giftcard.ErrRevoked) {
		t.Errorf("claim after revoke: %v", err)
	}
	if _, _, err := e.g.Send(ctx, "alice", c.ID); !errors.Is(err, giftcard.ErrRevoked) {
		t.Errorf("send after revoke: %v", err)
	}
	if a := e.check(t, "alice"); a.Principal != 700 || a.Bonus != 0 {
		t.Errorf("alice after revoke: %+v; want 700 of principal", a)
	}
	if bb := e.check(t, "bob"); bb.Balance != 0 {
		t.Errorf("bob: %+v", bb)
	}
}

// TestTokenExpires: a token claims nothing after TokenTTL; the buyer can
// send again (a fresh token) or take the card back.
func TestTokenExpires(t *testing.T) {
	e := newEnv(t, storetest.Backends(t)[0])
	var skew atomic.Int64
	g := giftcard.New(e.st, giftcard.Options{Pay: e.client, Wallet: e.w,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	ctx := context.Background()
	c := e.paidCard(t, "alice", 400)
	token, _, err := g.Send(ctx, "alice", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(giftcard.TokenTTL + time.Minute))
	if _, err := g.Claim(ctx, "bob", token); !errors.Is(err, giftcard.ErrTokenInvalid) {
		t.Fatalf("claim with an expired token: %v", err)
	}
	token, _, err = g.Send(ctx, "alice", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := g.Claim(ctx, "bob", token); err != nil || got.Status != giftcard.Claimed {
		t.Fatalf("claim with the fresh token: %+v, %v", got, err)
	}
	if b := e.check(t, "bob"); b.Bonus != 400 {
		t.Errorf("bob: %+v", b)
	}
}

// TestExpire: an unpaid card past its TTL is closed at WeChat Pay and here;
// a paid one is untouched; a second run closes nothing.
func TestExpire(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			var skew atomic.Int64
			g := giftcard.New(e.st, giftcard.Options{Pay: e.client, Wallet: e.w,
				Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
			ctx := context.Background()
			unpaid, err := g.Buy(ctx, "alice", 300, "", "")
			if err != nil {
				t.Fatal(err)
			}
			paid := e.paidCard(t, "alice", 400)
			if n, err := g.Expire(ctx); n != 0 || err != nil {
				t.Fatalf("expire before the TTL: %d, %v", n, err)
			}
			skew.Store(int64(giftcard.DefaultTTL + time.Minute))
			if n, err := g.Expire(ctx); n != 1 || err != nil {
				t.Fatalf("expire: %d, %v; want 1 closed", n, err)
			}
			if n, err := g.Expire(ctx); n != 0 || err != nil {
				t.Fatalf("expire again: %d, %v", n, err)
			}
			if c, _ := g.Get(ctx, "alice", unpaid.Card.ID); c.Status != giftcard.Closed || c.ClosedAt == nil {
				t.Errorf("unpaid card: %+v", c)
			}
			if c, _ := g.Get(ctx, "alice", paid.ID); c.Status != giftcard.Paid {
				t.Errorf("paid card: %+v", c)
			}
			if err := e.emu.Pay(ctx, unpaid.Card.OutTradeNo); err == nil {
				t.Errorf("the emulator took the payment of a closed card")
			}
			if _, _, err := g.Send(ctx, "alice", unpaid.Card.ID); !errors.Is(err, giftcard.ErrNotPaid) {
				t.Errorf("send a closed card: %v", err)
			}
		})
	}
}
