package giftcard_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wallet"
)

// TestMixedProperty runs random sequences of every money operation of
// issue 17 at once, on each backend: top-ups (their notifies delivered one to
// three times) and their refunds, orders paid with balance (in full, or in part with the rest
// paid at the WeChat Pay emulator), cancels, partial and full refunds, gift
// cards bought, sent, claimed by several racing users and taken back. One
// goroutine per user, from one RNG each from one seed (logged; set
// mixedSeed to replay a run's choices — the interleaving is the scheduler's).
//
// After each round, with every notify delivered, it checks:
//   - no wallet counter is negative, and for every user sum(ledger) == balance
//     (and its principal and bonus parts);
//   - money: In + Bonus == Out + Balances + Unclaimed + Spent + Held, where
//     In is what the emulator recorded as paid (top-ups, gift cards, the
//     WeChat Pay part of orders), Out what it recorded as refunded (orders'
//     WeChat Pay parts, top-ups' principal), Bonus the bonus of the paid
//     top-ups less what their refunds removed (merchant money, paid by
//     no one), Balances the sum of every wallet, Unclaimed the value of paid
//     cards neither claimed nor taken back, Spent Σ(total − refunded) of
//     orders that were paid, Held the balance part of orders still pending;
//   - a claimed or taken-back card's value is in exactly one ledger entry
//     (the claimer's or the buyer's), an unclaimed card's in none, and at most
//     one racing claimer succeeded.
func TestMixedProperty(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			seed := mixedSeed
			if seed == 0 {
				seed = uint64(time.Now().UnixNano())
			}
			t.Logf("seed %d (set mixedSeed to replay)", seed)
			runMixed(t, b, seed)
		})
	}
}

// mixedSeed, when not 0, replays a logged run.
var mixedSeed uint64

const (
	mixedUsers  = 4
	mixedRounds = 5
	mixedOps    = 12 // per user and round
)

type mixed struct {
	e    *ordertest.Env
	w    *wallet.Service
	g    *giftcard.Service
	plan []wallet.Plan

	mu      sync.Mutex
	trades  []string            // every out_trade_no paid at the emulator
	topups  map[string]string   // top-up no → openid
	orders  map[string]string   // order id → openid
	pending map[string][]string // openid → orders left unpaid (cancellable)
	paid    map[string][]string // openid → paid orders (refundable)
	cards   map[string]string   // card id → buyer
	own     map[string][]string // buyer → cards not claimed or revoked (as far as known)
	claimed atomic.Int64

	mine        map[string][]string // openid → top-ups not refunded yet
	redelivered map[string]bool     // notify ids already resent (redeliver runs alone)
}

func users() []string {
	out := make([]string, mixedUsers)
	for i := range out {
		out[i] = fmt.Sprintf("mx%d", i)
	}
	return out
}

func runMixed(t *testing.T, b storetest.Backend, seed uint64) {
	e := ordertest.New(t, b, ordertest.Options{TTL: time.Hour})
	m := &mixed{e: e, topups: map[string]string{}, orders: map[string]string{}, pending: map[string][]string{},
		paid: map[string][]string{}, cards: map[string]string{}, own: map[string][]string{}, redelivered: map[string]bool{}, mine: map[string][]string{}}
	m.w = wallet.New(e.Store, wallet.Options{Pay: e.Client, Now: e.Clock.Now})
	m.g = giftcard.New(e.Store, giftcard.Options{Pay: e.Client, Wallet: m.w, Now: e.Clock.Now})
	e.SetOrders(func(o *order.Options) { o.Wallet = m.w })
	e.Handler = http.HandlerFunc(m.receive)
	ctx := context.Background()
	if _, err := e.Products.Put(ctx, product.Product{SKU: "tea", Title: "茶", Price: 700, Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int64{{1000, 100}, {3000, 500}} {
		pl, _, err := m.w.CreatePlan(ctx, wallet.PlanInput{Amount: p[0], Bonus: p[1]}, "")
		if err != nil {
			t.Fatal(err)
		}
		m.plan = append(m.plan, pl)
	}
	start := time.Now()
	for round := range mixedRounds {
		var wg sync.WaitGroup
		for i, u := range users() {
			rng := rand.New(rand.NewPCG(seed, uint64(round*mixedUsers+i)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range mixedOps {
					m.step(t, rng, u)
				}
			}()
		}
		wg.Wait()
		m.settle(t)
		m.redeliver(t, rand.New(rand.NewPCG(seed, uint64(1000+round))))
		m.settle(t)
		m.check(t, round)
		if t.Failed() {
			t.Fatalf("round %d failed (seed %d)", round, seed)
		}
	}
	t.Logf("%d rounds in %v; %d cards claimed", mixedRounds, time.Since(start).Round(time.Millisecond), m.claimed.Load())
}

// receive hands each notify to its owner by the out_trade_no's prefix, as
// the one pay-notify function does.
func (m *mixed) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	n, err := m.e.Client.ParseNotify(r.Header, body)
	ctx := r.Context()
	switch {
	case err != nil:
	case n.Transaction != nil && wallet.IsTradeNo(n.Transaction.OutTradeNo):
		_, err = m.w.HandlePayment(ctx, *n.Transaction)
	case n.Transaction != nil && giftcard.IsTradeNo(n.Transaction.OutTradeNo):
		_, err = m.g.HandlePayment(ctx, *n.Transaction)
	case n.Transaction != nil:
		_, err = m.e.Orders.HandlePayment(ctx, n.ID, *n.Transaction)
	case n.Refund != nil && wallet.IsTradeNo(n.Refund.OutTradeNo):
		_, err = m.w.HandleRefund(ctx, *n.Refund)
	case n.Refund != nil:
		_, err = m.e.Orders.HandleRefund(ctx, n.ID, *n.Refund)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *mixed) payAt(t *testing.T, no string) {
	if err := m.e.Emulator.Pay(context.Background(), no); err != nil {
		t.Errorf("pay %s: %v", no, err)
		return
	}
	m.mu.Lock()
	m.trades = append(m.trades, no)
	m.mu.Unlock()
}

// take removes and returns a random element of *l (under m.mu).
func take(rng *rand.Rand, l *[]string) (string, bool) {
	if len(*l) == 0 {
		return "", false
	}
	i := rng.IntN(len(*l))
	v := (*l)[i]
	(*l)[i] = (*l)[len(*l)-1]
	*l = (*l)[:len(*l)-1]
	return v, true
}

// step is one random operation by u. Refusals the domain is entitled to
// (insufficient balance, busy, already refunded…) are not failures: the
// invariants checked after the round are.
func (m *mixed) step(t *testing.T, rng *rand.Rand, u string) {
	ctx := context.Background()
	switch op := rng.IntN(10); op {
	case 0, 1: // top-up
		c, err := m.w.CreateTopUp(ctx, u, m.plan[rng.IntN(len(m.plan))].ID, "")
		if err != nil {
			t.Errorf("top-up: %v", err)
			return
		}
		m.mu.Lock()
		m.topups[c.TopUp.OutTradeNo] = u
		m.mu.Unlock()
		m.payAt(t, c.TopUp.OutTradeNo)
		m.mu.Lock()
		m.mine[u] = append(m.mine[u], c.TopUp.OutTradeNo)
		m.mu.Unlock()
	case 2, 3: // order with balance: in full, or the rest paid by WeChat Pay (or left pending)
		req := order.CreateRequest{Items: []order.LineRequest{{SKU: "tea", Quantity: 1 + rng.Int64N(8)}}, UseBalance: true}
		got, err := m.e.Orders.Create(ctx, u, req, "")
		if err != nil {
			t.Logf("order: %v", err)
			return
		}
		o := got.Order
		m.mu.Lock()
		m.orders[o.ID] = u
		payNow := o.Status == order.Pending && rng.IntN(3) > 0
		switch {
		case o.Status == order.Paid:
			m.paid[u] = append(m.paid[u], o.ID)
		case !payNow:
			m.pending[u] = append(m.pending[u], o.ID)
		}
		m.mu.Unlock()
		if payNow {
			m.payAt(t, o.OutTradeNo)
			m.mu.Lock()
			m.paid[u] = append(m.paid[u], o.ID)
			m.mu.Unlock()
		}
	case 4: // cancel an unpaid order
		m.mu.Lock()
		l := m.pending[u]
		id, ok := take(rng, &l)
		m.pending[u] = l
		m.mu.Unlock()
		if ok {
			if _, err := m.e.Orders.Cancel(ctx, u, id); err != nil {
				t.Errorf("cancel %s: %v", id, err)
			}
		}
	case 5: // refund part or all of a paid order
		m.mu.Lock()
		l := m.paid[u]
		var id string
		if len(l) > 0 {
			id = l[rng.IntN(len(l))]
		}
		m.mu.Unlock()
		if id == "" {
			return
		}
		req := order.RefundRequest{Reason: "mixed"}
		if rng.IntN(2) == 0 {
			a := 1 + rng.Int64N(1500)
			req.Amount = &a
		}
		if _, _, err := m.e.Orders.Refund(ctx, id, req, ""); err != nil {
			t.Logf("refund %s: %v", id, err)
		}
	case 6: // buy a gift card
		bo, err := m.g.Buy(ctx, u, 100*(1+rng.Int64N(30)), "祝你快乐", "")
		if err != nil {
			t.Errorf("buy: %v", err)
			return
		}
		m.mu.Lock()
		m.cards[bo.Card.ID] = u
		m.mu.Unlock()
		m.payAt(t, bo.Card.OutTradeNo)
		m.mu.Lock()
		m.own[u] = append(m.own[u], bo.Card.ID)
		m.mu.Unlock()
	case 7: // send one of u's cards; three users (maybe the buyer) race to claim it, the buyer sometimes to take it back
		m.mu.Lock()
		l := m.own[u]
		var id string
		if len(l) > 0 {
			id = l[rng.IntN(len(l))]
		}
		m.mu.Unlock()
		if id == "" {
			return
		}
		token, _, err := m.g.Send(ctx, u, id)
		if err != nil {
			t.Logf("send %s: %v", id, err) // not paid yet (notify in flight), claimed, revoked
			return
		}
		var wins atomic.Int64
		var wg sync.WaitGroup
		for _, c := range rng.Perm(mixedUsers)[:3] {
			claimer := users()[c]
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := m.g.Claim(ctx, claimer, token); err == nil {
					if claimer == u {
						t.Errorf("card %s claimed by its own buyer", id)
					}
					wins.Add(1)
				}
			}()
		}
		var revoked atomic.Int64
		if rng.IntN(2) == 0 { // the buyer takes it back meanwhile
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := m.g.Revoke(ctx, u, id); err == nil {
					revoked.Add(1)
				}
			}()
		}
		wg.Wait()
		// At least one claimer is not the buyer: exactly one of the claims
		// and the take-back wins.
		if wins.Load()+revoked.Load() != 1 {
			t.Errorf("card %s: %d claims and %d take-backs succeeded, want exactly one in all", id, wins.Load(), revoked.Load())
		}
		m.claimed.Add(wins.Load())
	case 9: // refund one of u's top-ups (admin): the unspent principal in cash, its bonus removed
		m.mu.Lock()
		l := m.mine[u]
		no, ok := take(rng, &l)
		m.mine[u] = l
		m.mu.Unlock()
		if ok {
			if _, _, err := m.w.Refund(ctx, no, "mixed", ""); err != nil {
				t.Logf("top-up refund %s: %v", no, err) // not paid yet, nothing left, in flight
			}
		}
	case 8: // take back one of u's cards (it may have been claimed meanwhile)
		m.mu.Lock()
		l := m.own[u]
		id, ok := take(rng, &l)
		m.own[u] = l
		m.mu.Unlock()
		if ok {
			if _, err := m.g.Revoke(ctx, u, id); err != nil {
				t.Logf("revoke %s: %v", id, err)
			}
		}
	}
}

// settle waits until the emulator has finished every notify and fails for
// any that was not acknowledged.
func (m *mixed) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, all := true, m.e.Emulator.Notifies()
		for _, d := range all {
			done = done && (d.Delivered || d.Done)
		}
		if done {
			for _, d := range all {
				if !d.Delivered && d.Mode == "" {
					t.Errorf("notify %s (%s %s) never acknowledged: %+v", d.ID, d.EventType, d.OutTradeNo, d.Attempts)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifies still in flight after 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// redeliver sends every notify of the round 0 to 2 more times (WeChat Pay
// may deliver one more than once): each must be applied once.
func (m *mixed) redeliver(t *testing.T, rng *rand.Rand) {
	seen := map[string]bool{}
	for _, d := range m.e.Emulator.Notifies() {
		if seen[d.ID] || d.Mode != "" {
			continue
		}
		seen[d.ID] = true
		if m.redelivered[d.ID] {
			continue
		}
		m.redelivered[d.ID] = true
		for range rng.IntN(3) {
			if err := m.e.Emulator.Resend(d.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// check asserts the invariants of the package doc of TestMixedProperty.
func (m *mixed) check(t *testing.T, round int) {
	t.Helper()
	ctx := context.Background()
	var in, out, bonus, balances, unclaimed, spent, held int64
	credited := map[string]int{} // card id → ledger entries carrying its value
	for _, u := range users() {
		bal, err := m.w.Get(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Balance < 0 || bal.Principal < 0 || bal.Bonus < 0 || bal.Balance != bal.Principal+bal.Bonus {
			t.Errorf("round %d: %s: balance %+v", round, u, bal)
		}
		var sum, sp, sb int64
		after := ""
		for {
			es, next, err := m.w.Ledger(ctx, u, after, 200)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range es {
				sum, sp, sb = sum+x.Amount, sp+x.Principal, sb+x.Bonus
				if giftcard.IsTradeNo(x.Ref) {
					credited[x.Ref]++
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		if sum != bal.Balance || sp != bal.Principal || sb != bal.Bonus {
			t.Errorf("round %d: %s: ledger sums to %d (%d + %d), balance %+v", round, u, sum, sp, sb, bal)
		}
		balances += bal.Balance
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, no := range m.trades {
		if p, ok := m.e.Emulator.Payment("", ordertest.MchID, no); ok {
			in, out = in+p.Total, out+p.Refunded
		} else {
			t.Errorf("round %d: %s paid at the emulator but not found there", round, no)
		}
	}
	for no, u := range m.topups {
		tu, err := m.w.TopUp(ctx, u, no)
		if err != nil {
			t.Fatal(err)
		}
		if tu.Status != wallet.Pending && tu.Status != wallet.Closed {
			bonus += tu.Bonus
		}
		for _, r := range tu.Refunds {
			switch r.Status {
			case wallet.RefundSuccess:
				bonus -= r.BonusRemoved
			case wallet.RefundFailed, wallet.RefundClosed: // the money went back
			default:
				t.Errorf("round %d: top-up %s: refund %+v not finished", round, no, r)
			}
		}
		if tu.Status == wallet.Pending {
			t.Errorf("round %d: top-up %s paid but still pending", round, no)
		}
	}
	for id, buyer := range m.cards {
		c, err := m.g.Get(ctx, buyer, id)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		switch c.Status {
		case giftcard.Paid, giftcard.Sent:
			unclaimed += c.Amount
		case giftcard.Claimed, giftcard.Revoked:
			want = 1
		default:
			t.Errorf("round %d: card %s paid but %s", round, id, c.Status)
		}
		if credited[id] != want {
			t.Errorf("round %d: card %s (%s): its value is in %d ledger entries, want %d", round, id, c.Status, credited[id], want)
		}
	}
	for id, u := range m.orders {
		o, err := m.e.Orders.Get(ctx, u, id)
		if err != nil {
			t.Fatal(err)
		}
		switch o.Status {
		case order.Pending:
			held += o.PaidByBalance
		case order.Cancelled, order.Closed:
		default: // paid, refunded (in part or whole), shipped…
			spent += o.Total - o.Refunded
		}
	}
	if in+bonus != out+balances+unclaimed+spent+held {
		t.Errorf("round %d: in %d + bonus %d != out %d + balances %d + unclaimed cards %d + spent %d + held by pending orders %d",
			round, in, bonus, out, balances, unclaimed, spent, held)
	} else {
		t.Logf("round %d: in %d + bonus %d == out %d + balances %d + unclaimed %d + spent %d + held %d",
			round, in, bonus, out, balances, unclaimed, spent, held)
	}
}
