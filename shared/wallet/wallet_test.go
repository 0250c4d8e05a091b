package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

// TestTopUpCreditedOnce: a paid top-up is credited with its bonus exactly
// once, however many times its notify is delivered and however many
// queries race it.
func TestTopUpCreditedOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			p := e.plan(t, 1000, 200)
			tu := e.topUp(t, "alice", p)
			var wg sync.WaitGroup
			for range 6 { // queries racing the notify
				wg.Add(1)
				go func() {
					defer wg.Done()
					tx, err := e.client.Query(ctx, tu.OutTradeNo)
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := e.w.HandlePayment(ctx, tx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			e.settle(t)
			for _, d := range e.emu.Notifies() { // and the notify delivered again
				if err := e.emu.Resend(d.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			e.settle(t)
			if bal := e.check(t, "alice"); bal.Balance != 1200 || bal.Principal != 1000 || bal.Bonus != 200 {
				t.Fatalf("balance %+v; want 1000 + 200", bal)
			}
			got, err := e.w.TopUp(ctx, "alice", tu.ID)
			if err != nil || got.Status != wallet.Paid || got.TransactionID == "" {
				t.Fatalf("top-up %+v, %v", got, err)
			}
			if _, err := e.w.TopUp(ctx, "bob", tu.ID); !errors.Is(err, wallet.ErrTopUpNotFound) {
				t.Errorf("bob reads alice's top-up: %v", err)
			}
		})
	}
}

// TestRefundRule: a refund returns min(top-up, principal) in cash and
// removes min(its bonus, bonus balance); spending is principal first, so
// spending the bonus and refunding the principal is impossible.
func TestRefundRule(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := newEnv(t, b)
	ctx := context.Background()
	p := e.plan(t, 1000, 200)
	tu := e.topUp(t, "alice", p)
	e.settle(t)
	if _, err := e.w.Spend(ctx, "alice", "order1", 300); err != nil {
		t.Fatal(err)
	}
	if bal := e.check(t, "alice"); bal.Principal != 700 || bal.Bonus != 200 {
		t.Fatalf("after spending 300: %+v; want principal 700, bonus 200 (principal first)", bal)
	}
	got, _, err := e.w.Refund(ctx, tu.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ref := got.Refunds[0]
	if ref.Amount != 700 || ref.BonusRemoved != 200 {
		t.Fatalf("refund %+v; want 700 in cash, 200 bonus removed", ref)
	}
	e.settle(t)
	if got, _ = e.w.TopUp(ctx, "alice", tu.ID); got.Status != wallet.Refunded || got.Refunds[0].Status != wallet.RefundSuccess {
		t.Fatalf("after the refund notify: %+v", got)
	}
	if bal := e.check(t, "alice"); bal.Balance != 0 {
		t.Fatalf("after the refund: %+v", bal)
	}
	if _, _, err := e.w.Refund(ctx, tu.ID, "", ""); !errors.Is(err, wallet.ErrNotRefundable) {
		t.Errorf("second refund: %v; want ErrNotRefundable", err)
	}

	// Spent past the principal: nothing is refundable.
	tu2 := e.topUp(t, "bob", p)
	e.settle(t)
	if _, err := e.w.Spend(ctx, "bob", "order2", 1100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.Refund(ctx, tu2.ID, "", ""); !errors.Is(err, wallet.ErrNothingRefundable) {
		t.Errorf("refund with no principal left: %v; want ErrNothingRefundable", err)
	}
	// Return is the reverse of Spend: bonus first.
	if sp, err := e.w.Return(ctx, "bob", "order2", "r1", 150); err != nil || sp.RetB != 100 || sp.RetP != 50 {
		t.Fatalf("return: %+v, %v; want 100 bonus, 50 principal back", sp, err)
	}
	if bal := e.check(t, "bob"); bal.Principal != 50 || bal.Bonus != 200 {
		t.Fatalf("after the return: %+v; want as a spend of 950", bal)
	}
	if _, err := e.w.Return(ctx, "bob", "order2", "r2", 1000); !errors.Is(err, wallet.ErrReturnTooLarge) {
		t.Errorf("return over what is left: %v", err)
	}
	if _, err := e.w.Spend(ctx, "bob", "order2", 5); !errors.Is(err, wallet.ErrSpendMismatch) {
		t.Errorf("second spend of an order with another amount: %v", err)
	}
	if _, err := e.w.Spend(ctx, "bob", "order3", 1000); !errors.Is(err, wallet.ErrInsufficient) {
		t.Errorf("overspend: %v", err)
	}
}

// TestExpire: an unpaid top-up past its TTL is closed at WeChat Pay and
// here; a paid one the sweep finds is credited instead.
func TestExpire(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := newEnv(t, b)
	ctx := context.Background()
	p := e.plan(t, 500, 50)
	unpaid, err := e.w.CreateTopUp(ctx, "alice", p.ID, "k1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.w.CreateTopUp(ctx, "alice", p.ID, "k1")
	if err != nil || !again.Replayed || again.TopUp.ID != unpaid.TopUp.ID || again.Payment == nil {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	e.skew.Store(int64(16 * time.Minute))
	n, err := e.w.Expire(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expire: %d, %v", n, err)
	}
	got, _ := e.w.TopUp(ctx, "alice", unpaid.TopUp.ID)
	if got.Status != wallet.Closed || got.CloseReason != "expired" {
		t.Fatalf("expired top-up: %+v", got)
	}
	if err := e.emu.Pay(ctx, unpaid.TopUp.OutTradeNo); err == nil {
		t.Fatal("the emulator took a payment of a closed top-up")
	}
	if bal := e.check(t, "alice"); bal.Balance != 0 {
		t.Fatalf("balance %+v", bal)
	}
}

// TestProperty runs random operations on a few users concurrently, in
// rounds, on every backend: top-ups (paid, with their notifies and racing
// queries), spends (some repeated), returns (some repeated), refunds of
// top-ups and adjustments. After every round, with the notifies settled:
// no counter is negative, each user's ledger sums to the balance, every
// paid top-up was credited once, and money in (cash paid, bonuses,
// positive adjustments, returns) equals money out (spends, cash refunded,
// bonuses removed, negative adjustments) plus the balances held.
func TestProperty(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			plans := []wallet.Plan{e.plan(t, 1000, 200), e.plan(t, 500, 0), e.plan(t, 3000, 600)}
			users := []string{"u1", "u2", "u3"}
			type ledgerOf struct {
				mu                    sync.Mutex
				topups                []string
				spends                []string
				spent, returned, adjd int64
			}
			st := map[string]*ledgerOf{}
			for _, u := range users {
				st[u] = &ledgerOf{}
			}
			var seq int64
			var seqMu sync.Mutex
			next := func() int64 { seqMu.Lock(); defer seqMu.Unlock(); seq++; return seq }
			rounds := 10
			if testing.Short() {
				rounds = 4
			}
			for round := range rounds {
				var wg sync.WaitGroup
				for _, u := range users {
					for worker := range 2 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							r := rand.New(rand.NewPCG(uint64(round), uint64(worker*7+len(u)+int(next()))))
							l := st[u]
							switch op := r.IntN(6); op {
							case 0, 1: // top-up, paid, with a racing query
								p := plans[r.IntN(len(plans))]
								c, err := e.w.CreateTopUp(ctx, u, p.ID, "")
								if err != nil {
									t.Error(err)
									return
								}
								if err := e.emu.Pay(ctx, c.TopUp.OutTradeNo); err != nil {
									t.Error(err)
									return
								}
								if tx, err := e.client.Query(ctx, c.TopUp.OutTradeNo); err == nil {
									if _, err := e.w.HandlePayment(ctx, tx); err != nil {
										t.Error(err)
									}
								}
								l.mu.Lock()
								l.topups = append(l.topups, c.TopUp.ID)
								l.mu.Unlock()
							case 2: // spend, sometimes twice for one order
								order := fmt.Sprintf("o%d", next())
								amount := 1 + r.Int64N(1500)
								for range 1 + r.IntN(2) {
									sp, err := e.w.Spend(ctx, u, order, amount)
									if errors.Is(err, wallet.ErrInsufficient) {
										return
									}
									if err != nil {
										t.Error(err)
										return
									}
									if !sp.Replayed {
										l.mu.Lock()
										l.spent += amount
										l.spends = append(l.spends, order)
										l.mu.Unlock()
									}
								}
							case 3: // return part of a spend, sometimes twice with one ref
								l.mu.Lock()
								if len(l.spends) == 0 {
									l.mu.Unlock()
									return
								}
								order := l.spends[r.IntN(len(l.spends))]
								l.mu.Unlock()
								ref := fmt.Sprintf("ref%d", next())
								amount := 1 + r.Int64N(400)
								for range 1 + r.IntN(2) {
									sp, err := e.w.Return(ctx, u, order, ref, amount)
									if errors.Is(err, wallet.ErrReturnTooLarge) {
										return
									}
									if err != nil {
										t.Error(err)
										return
									}
									if !sp.Replayed {
										l.mu.Lock()
										l.returned += amount
										l.mu.Unlock()
									}
								}
							case 4: // refund a top-up
								l.mu.Lock()
								if len(l.topups) == 0 {
									l.mu.Unlock()
									return
								}
								no := l.topups[r.IntN(len(l.topups))]
								l.mu.Unlock()
								_, _, err := e.w.Refund(ctx, no, "", "")
								switch {
								case err == nil, errors.Is(err, wallet.ErrNotRefundable), errors.Is(err, wallet.ErrNothingRefundable),
									errors.Is(err, wallet.ErrRefundInFlight):
								default:
									t.Error(err)
								}
							case 5: // adjust
								amount := r.Int64N(600) - 300
								if amount == 0 {
									amount = 1
								}
								_, err := e.w.Adjust(ctx, u, amount, "test", fmt.Sprintf("adj%d", next()))
								if errors.Is(err, wallet.ErrInsufficient) {
									return
								}
								if err != nil {
									t.Error(err)
									return
								}
								l.mu.Lock()
								l.adjd += amount
								l.mu.Unlock()
							}
						}()
					}
				}
				wg.Wait()
				e.settle(t)
				for _, u := range users {
					bal := e.check(t, u)
					l := st[u]
					// Money in == money out + balance, from the top-ups as
					// recorded and what this test did.
					var in, out int64
					for _, no := range l.topups {
						tu, err := e.w.TopUp(ctx, u, no)
						if err != nil {
							t.Fatal(err)
						}
						if tu.Status == wallet.Pending || tu.Status == wallet.Closed {
							t.Errorf("round %d: top-up %s paid at WeChat Pay is %s", round, no, tu.Status)
							continue
						}
						in += tu.Amount + tu.Bonus
						var cash int64
						for _, ref := range tu.Refunds {
							switch ref.Status {
							case wallet.RefundSuccess, wallet.RefundAbnormal, wallet.RefundSubmitting, wallet.RefundProcessing:
								out += ref.Amount + ref.BonusRemoved
								cash += ref.Amount
							}
						}
						if cash > tu.Amount {
							t.Errorf("top-up %s: %d refunded of %d", no, cash, tu.Amount)
						}
					}
					in += l.returned
					out += l.spent
					if l.adjd > 0 {
						in += l.adjd
					} else {
						out -= l.adjd
					}
					if in != out+bal.Balance {
						t.Errorf("round %d, %s: money in %d != out %d + balance %d", round, u, in, out, bal.Balance)
					}
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}
