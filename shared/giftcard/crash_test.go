package giftcard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/giftcard"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/store/bolt"
	"github.com/minifn/minifn/shared/wallet"
)

const (
	crashDBEnv   = "MINIFN_GIFTCARD_CRASH_DB"
	crashJobsEnv = "MINIFN_GIFTCARD_CRASH_JOBS"
	crashTopUps  = 60 // top-ups, over crashUsers users
	crashCards   = 60 // gift card purchases
	crashClaims  = 30 // sent cards, each claimed by two users at once
	crashUsers   = 10
	crashWorkers = 8
	crashAppID   = "wx0123456789abcdef"
	crashMchID   = "1900000001"
)

// crashPay is the WeChat Pay of the crash test: prepay answers, the rest
// is never called (a call fails the step, and the test with it).
type crashPay struct{}

var errNotFaked = errors.New("crash test: not faked")

func (crashPay) AppID() string { return crashAppID }
func (crashPay) MchID() string { return crashMchID }
func (crashPay) Prepay(_ context.Context, r pay.PrepayRequest) (string, error) {
	return "wx" + r.OutTradeNo, nil
}
func (crashPay) PaymentParams(string) (pay.Payment, error) { return pay.Payment{}, nil }
func (crashPay) Query(context.Context, string) (pay.Transaction, error) {
	return pay.Transaction{}, errNotFaked
}
func (crashPay) Close(context.Context, string) error { return errNotFaked }
func (crashPay) Refund(context.Context, pay.RefundRequest) (pay.Refund, error) {
	return pay.Refund{}, errNotFaked
}
func (crashPay) QueryRefund(context.Context, string) (pay.Refund, error) {
	return pay.Refund{}, errNotFaked
}

type crashEnv struct {
	st *bolt.Store
	w  *wallet.Service
	g  *giftcard.Service
}

func openCrashEnv(path string) (*crashEnv, error) {
	st, err := bolt.Open(path, bolt.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	w := wallet.New(st, wallet.Options{Pay: crashPay{}})
	return &crashEnv{st: st, w: w, g: giftcard.New(st, giftcard.Options{Pay: crashPay{}, Wallet: w})}, nil
}

// crashJob is one step the child takes: a payment notify of a top-up or of
// a gift card, or a claim of a sent card.
type crashJob struct {
	Kind   string // topup, card, claim
	Owner  string // the top-up's or card's buyer; the claimer
	Ref    string // the top-up's or card's id
	Amount int64  // what it credits (top-up: amount + bonus)
	Token  string
	Tx     pay.Transaction
}

func (j crashJob) run(ctx context.Context, e *crashEnv) error {
	switch j.Kind {
	case "topup":
		_, err := e.w.HandlePayment(ctx, j.Tx)
		return err
	case "card":
		_, err := e.g.HandlePayment(ctx, j.Tx)
		return err
	}
	_, err := e.g.Claim(ctx, j.Owner, j.Token)
	if errors.Is(err, giftcard.ErrClaimed) {
		return nil // the other claimer won
	}
	return err
}

func crashTx(no string, total int64) pay.Transaction {
	return pay.Transaction{AppID: crashAppID, MchID: crashMchID, OutTradeNo: no, TransactionID: "4200" + no[len(no)-16:],
		TradeType: "JSAPI", TradeState: pay.StateSuccess, SuccessTime: time.Now().Truncate(time.Second),
		Amount: pay.Amount{Total: total, PayerTotal: total, Currency: "CNY"}}
}

// TestCrashHelperGiftCard is the child process of TestCrashMidNotifyWallet:
// it runs every job twice (a notify delivered again, both claimers) from
// crashWorkers goroutines in a random order, prints "ok <ref>" after each
// that returned no error, then waits to be killed.
func TestCrashHelperGiftCard(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("the child process of TestCrashMidNotifyWallet")
	}
	b, err := os.ReadFile(os.Getenv(crashJobsEnv))
	if err != nil {
		t.Fatal(err)
	}
	var jobs []crashJob
	if err := json.Unmarshal(b, &jobs); err != nil {
		t.Fatal(err)
	}
	e, err := openCrashEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	queue := append(append([]crashJob(nil), jobs...), jobs...)
	rand.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	work := make(chan crashJob)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for j := range work {
				if err := j.run(context.Background(), e); err != nil {
					fmt.Fprintf(os.Stderr, "%s %s: %v\n", j.Kind, j.Ref, err)
					continue
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ok %s %s\n", j.Kind, j.Ref)
				mu.Unlock()
			}
		})
	}
	for _, j := range queue {
		work <- j
	}
	close(work)
	wg.Wait()
	fmt.Fprintln(os.Stdout, "done")
	time.Sleep(time.Hour) // the parent kills us
}

// TestCrashMidNotifyWallet kills a process with SIGKILL while it handles
// top-ups' and gift cards' payment notifies and gift card claims on a
// bbolt file, at three moments. After each kill it reopens the file and
// checks that every top-up is wholly pending or wholly paid and credited,
// every card wholly sent or wholly claimed into one wallet, and every
// ledger sums to its balance; then it delivers every notify and claim again
// and checks that each was applied exactly once.
func TestCrashMidNotifyWallet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, killAfter := range []int{3, 80, 200} {
		t.Run(fmt.Sprint("after", killAfter), func(t *testing.T) { crashMidNotify(t, killAfter) })
	}
}

func crashMidNotify(t *testing.T, killAfter int) {
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.db")
	jobs := crashSetup(t, path)
	b, _ := json.Marshal(jobs)
	jobsPath := filepath.Join(dir, "jobs.json")
	if err := os.WriteFile(jobsPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperGiftCard$")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashJobsEnv+"="+jobsPath)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	n := 0
	sc := bufio.NewScanner(stdout)
	for n < killAfter && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ok" && f[1] != "claim" {
			reported[f[2]] = true
		}
		if strings.HasPrefix(sc.Text(), "ok ") {
			n++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n < killAfter {
		t.Fatalf("the child reported %d steps before exiting, want %d", n, killAfter)
	}
	e, err := openCrashEnv(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer e.st.Close()
	paid, claimed := crashCheck(t, e, jobs, reported, false)
	t.Logf("killed after %d steps: %d payments recorded, %d cards claimed", n, paid, claimed)
	ctx := context.Background()
	for range 2 { // WeChat Pay delivers again; the claimers try again
		for _, j := range jobs {
			if err := j.run(ctx, e); err != nil {
				t.Fatalf("again: %s %s: %v", j.Kind, j.Ref, err)
			}
		}
		paid, claimed = crashCheck(t, e, jobs, reported, true)
		if paid != crashTopUps+crashCards || claimed != crashClaims {
			t.Errorf("after redelivery: %d payments, %d claims; want %d, %d", paid, claimed, crashTopUps+crashCards, crashClaims)
		}
	}
}

// crashSetup creates the top-ups and card purchases (pending) and the sent
// cards (paid and sent) in the file at path, and returns the jobs.
func crashSetup(t *testing.T, path string) []crashJob {
	t.Helper()
	e, err := openCrashEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.st.Close()
	ctx := context.Background()
	p, _, err := e.w.CreatePlan(ctx, wallet.PlanInput{Amount: 1000, Bonus: 150}, "")
	if err != nil {
		t.Fatal(err)
	}
	var jobs []crashJob
	for i := range crashTopUps {
		owner := fmt.Sprintf("u%02d", i%crashUsers)
		c, err := e.w.CreateTopUp(ctx, owner, p.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, crashJob{Kind: "topup", Owner: owner, Ref: c.TopUp.ID, Amount: 1150, Tx: crashTx(c.TopUp.ID, 1000)})
	}
	for i := range crashCards {
		owner := fmt.Sprintf("u%02d", i%crashUsers)
		amount := int64(100 + i)
		c, err := e.g.Buy(ctx, owner, amount, "", "")
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, crashJob{Kind: "card", Owner: owner, Ref: c.Card.ID, Amount: amount, Tx: crashTx(c.Card.ID, amount)})
	}
	for i := range crashClaims {
		buyer := fmt.Sprintf("u%02d", i%crashUsers)
		amount := int64(500 + i)
		c, err := e.g.Buy(ctx, buyer, amount, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.g.HandlePayment(ctx, crashTx(c.Card.ID, amount)); err != nil {
			t.Fatal(err)
		}
		token, _, err := e.g.Send(ctx, buyer, c.Card.ID)
		if err != nil {
			t.Fatal(err)
		}
		for k := 1; k <= 2; k++ { // two other users claim it
			claimer := fmt.Sprintf("u%02d", (i+k)%crashUsers)
			jobs = append(jobs, crashJob{Kind: "claim", Owner: claimer, Ref: c.Card.ID, Amount: amount, Token: token})
		}
	}
	return jobs
}

// crashCheck checks the invariants and returns how many payments are
// recorded and how many cards claimed. A top-up is pending with no credit,
// or paid with exactly one credit of amount + bonus; a purchased card is
// pending or paid and credits no one; a sent card is sent with no credit
// anywhere, or claimed with exactly one credit in its claimer's wallet;
// every balance is what its ledger sums to, and what those credits add
// up to. reported steps must be applied; with all, every step must be.
func crashCheck(t *testing.T, e *crashEnv, jobs []crashJob, reported map[string]bool, all bool) (paid, claimed int) {
	t.Helper()
	ctx := context.Background()
	credits := map[string]map[string]int64{} // openid → ref → credited
	want := map[string]int64{}
	for u := range crashUsers {
		openid := fmt.Sprintf("u%02d", u)
		credits[openid] = map[string]int64{}
		bal, err := e.w.Get(ctx, openid)
		if err != nil {
			t.Fatal(err)
		}
		es, _, err := e.w.Ledger(ctx, openid, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, x := range es {
			sum += x.Amount
			if credits[openid][x.Ref] != 0 {
				t.Errorf("%s: %s credited twice", openid, x.Ref)
			}
			credits[openid][x.Ref] += x.Amount
		}
		if sum != bal.Balance || bal.Principal < 0 || bal.Bonus < 0 {
			t.Errorf("%s: ledger sum %d, balance %+v", openid, sum, bal)
		}
		want[openid] = bal.Balance
	}
	expect := map[string]int64{}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.Ref] {
			continue
		}
		seen[j.Ref] = true
		switch j.Kind {
		case "topup":
			tu, err := e.w.TopUp(ctx, j.Owner, j.Ref)
			if err != nil {
				t.Fatal(err)
			}
			got := credits[j.Owner][j.Ref]
			switch {
			case tu.Status == wallet.Paid && got == j.Amount:
				paid++
				expect[j.Owner] += j.Amount
			case tu.Status == wallet.Pending && got == 0 && !all && !reported[j.Ref]:
			default:
				t.Errorf("top-up %s: %s, credited %d (reported %v)", j.Ref, tu.Status, got, reported[j.Ref])
			}
		case "card":
			c, err := e.g.Get(ctx, j.Owner, j.Ref)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.Status == giftcard.Paid && c.TransactionID == j.Tx.TransactionID:
				paid++
			case c.Status == giftcard.Pending && !all && !reported[j.Ref]:
			default:
				t.Errorf("card %s: %s (reported %v)", j.Ref, c.Status, reported[j.Ref])
			}
			for u, refs := range credits {
				if refs[j.Ref] != 0 {
					t.Errorf("card %s's purchase credited %s", j.Ref, u)
				}
			}
		case "claim":
			holders := 0
			var holder string
			for u, refs := range credits {
				if refs[j.Ref] != 0 {
					holders++
					holder = u
					if refs[j.Ref] != j.Amount {
						t.Errorf("card %s: %s credited %d, want %d", j.Ref, u, refs[j.Ref], j.Amount)
					}
				}
			}
			var c giftcard.Card
			var err error
			if holder != "" {
				c, err = e.g.Get(ctx, holder, j.Ref)
			} else {
				c, err = e.g.Get(ctx, fmt.Sprintf("u%02d", 0), j.Ref) // any buyer reads it below
				if errors.Is(err, giftcard.ErrNotFound) {
					err = nil
					for u := range crashUsers {
						if c, err = e.g.Get(ctx, fmt.Sprintf("u%02d", u), j.Ref); err == nil {
							break
						}
					}
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.Status == giftcard.Claimed && holders == 1 && c.Role == giftcard.RoleClaimer:
				claimed++
				expect[holder] += j.Amount
			case c.Status == giftcard.Sent && holders == 0 && !all:
			default:
				t.Errorf("card %s: %s, in %d wallets", j.Ref, c.Status, holders)
			}
		}
	}
	for u, b := range want {
		if b != expect[u] {
			t.Errorf("%s: balance %d; paid top-ups and claimed cards add to %d", u, b, expect[u])
		}
	}
	return paid, claimed
}
