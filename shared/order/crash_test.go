package order_test

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

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

const (
	crashDBEnv      = "MINIFN_ORDER_CRASH_DB"
	crashNotifyEnv  = "MINIFN_ORDER_CRASH_NOTIFIES"
	crashOrders     = 200
	crashUsers      = 20
	crashPerYuan    = 1
	crashAppID      = "wx0123456789abcdef"
	crashMchID      = "1900000001"
	crashWorkers    = 8
	crashDeliveries = 2 // each notify is delivered this many times by the child
)

// crashStock is the initial stock of each product of the crash test.
var crashStock = map[string]int64{"tea": 1000, "cup": 1000, "pot": 1000}

// crashPay is the WeChat Pay the crash test's services see. Notify handling
// of a pending order only checks the merchant identity; prepay answers a
// prepay_id so that creation completes, and nothing else may be called
// (ordertest.ErrNotFaked).
func crashPay() *ordertest.FakePay {
	return &ordertest.FakePay{
		AppIDFn: func() string { return crashAppID },
		MchIDFn: func() string { return crashMchID },
		PrepayFn: func(_ context.Context, r pay.PrepayRequest) (string, error) {
			return "wx" + r.OutTradeNo, nil
		},
		PaymentParamsFn: func(string) (pay.Payment, error) { return pay.Payment{}, nil },
	}
}

// creditHook is the points part of catalog's paid hook: points once per
// transaction id.
type creditHook struct{ points *points.Service }

func (h creditHook) OrderPaid(ctx context.Context, owner string, o order.Order) error {
	_, err := h.points.CreditOrder(ctx, owner, o.ID, o.TransactionID, o.Total)
	return err
}

// credited reports whether the owner's ledger holds the points of the
// order (asked of the points service: its keys are its own).
func hasOrderCredit(t *testing.T, ps *points.Service, owner, orderID string) bool {
	t.Helper()
	after := ""
	for {
		entries, next, err := ps.Ledger(context.Background(), owner, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if en.Reason == points.ReasonOrder && en.Ref == orderID {
				return true
			}
		}
		if next == "" {
			return false
		}
		after = next
	}
}

// crashEnv is the services of the crash test over one bolt file.
type crashEnv struct {
	st      *bolt.Store
	coupons *coupon.Service
	points  *points.Service
	orders  *order.Service
}

func openCrashEnv(path string) (*crashEnv, error) {
	st, err := bolt.Open(path, bolt.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	e := &crashEnv{st: st, coupons: coupon.New(st, coupon.Options{Now: time.Now, CacheTTL: -1}),
		points: points.New(st, points.Options{Now: time.Now, PerYuan: crashPerYuan})}
	e.orders = order.New(st, order.Options{Products: product.New(st, product.Options{Now: time.Now}), Pay: crashPay(),
		Coupons: e.coupons, Now: time.Now, Paid: creditHook{e.points}})
	return e, nil
}

// crashNotify is one payment notify of the crash test, and what the order
// it pays holds.
type crashNotify struct {
	NotifyID string
	Owner    string
	OrderID  string
	CouponID string
	Items    map[string]int64
	Tx       pay.Transaction
}

func crashTxID(orderID string) string { return "4200" + orderID[len(orderID)-16:] }

// TestCrashHelperNotifier is the child process of TestCrashMidNotify: it
// delivers every notify crashDeliveries times from crashWorkers goroutines
// in a random order, prints "paid <order id>" after each delivery that
// returned no error, then waits to be killed.
func TestCrashHelperNotifier(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("the child process of TestCrashMidNotify")
	}
	b, err := os.ReadFile(os.Getenv(crashNotifyEnv))
	if err != nil {
		t.Fatal(err)
	}
	var notifies []crashNotify
	if err := json.Unmarshal(b, &notifies); err != nil {
		t.Fatal(err)
	}
	e, err := openCrashEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	var queue []crashNotify
	for range crashDeliveries {
		queue = append(queue, notifies...)
	}
	rand.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	work := make(chan crashNotify)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for n := range work {
				if _, err := e.orders.HandlePayment(context.Background(), n.NotifyID, n.Tx); err != nil {
					fmt.Fprintf(os.Stderr, "notify %s: %v\n", n.NotifyID, err)
					continue
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "paid %s\n", n.OrderID)
				mu.Unlock()
			}
		})
	}
	for _, n := range queue {
		work <- n
	}
	close(work)
	wg.Wait()
	fmt.Fprintln(os.Stdout, "done")
	time.Sleep(time.Hour) // the parent kills us
}

// TestCrashMidNotify kills a process with SIGKILL while it handles payment
// notifies (and credits points through the paid hook) on a bbolt file, three
// times at different moments. After each kill it reopens the file and checks
// that every order is wholly pending or wholly paid, then re-delivers every
// notify and checks that each order is paid and credited exactly once.
func TestCrashMidNotify(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	// Kill after this many deliveries the child reported, of
	// crashOrders*crashDeliveries.
	for _, killAfter := range []int{5, 120, 300} {
		t.Run(fmt.Sprint("after", killAfter), func(t *testing.T) { crashMidNotify(t, killAfter) })
	}
}

func crashMidNotify(t *testing.T, killAfter int) {
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.db")
	notifies := crashSetup(t, path)
	b, err := json.Marshal(notifies)
	if err != nil {
		t.Fatal(err)
	}
	notifyPath := filepath.Join(dir, "notifies.json")
	if err := os.WriteFile(notifyPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperNotifier$")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashNotifyEnv+"="+notifyPath)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{} // orders the child saw paid
	n, done := 0, false
	sc := bufio.NewScanner(stdout)
	for n < killAfter && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "paid "); ok {
			reported[id] = true
			n++
		}
		done = done || sc.Text() == "done"
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n < killAfter {
		t.Fatalf("the child reported %d deliveries before exiting, want %d", n, killAfter)
	}
	if done {
		// Only on a starved parent; the invariants still hold and are checked.
		t.Logf("the child finished every delivery before the kill")
	}

	e, err := openCrashEnv(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer e.st.Close()
	paid := crashCheck(t, e, notifies, false)
	t.Logf("killed after %d reported deliveries: %d of %d orders paid, %d reported", n, paid, len(notifies), len(reported))
	for id := range reported {
		if o := crashOrder(t, e, notifies, id); o.Status != order.Paid {
			t.Errorf("order %s: the child saw its notify succeed, but it is %s", id, o.Status)
		}
	}

	// WeChat Pay retries every notify: all orders end paid, once.
	ctx := context.Background()
	for round := range 2 {
		before := crashVersions(t, e, notifies)
		for _, nt := range notifies {
			o, err := e.orders.HandlePayment(ctx, nt.NotifyID, nt.Tx)
			if err != nil || o.Status != order.Paid || o.TransactionID != nt.Tx.TransactionID {
				t.Fatalf("re-delivery %d of %s: %v, %s %q", round, nt.NotifyID, err, o.Status, o.TransactionID)
			}
		}
		after := crashVersions(t, e, notifies)
		for id, v := range after {
			if wasPaid := before[id].paid; wasPaid && v != before[id] {
				t.Errorf("round %d: a duplicate notify rewrote paid order %s (version %d → %d)", round, id, before[id].version, v.version)
			}
		}
		if got := crashCheck(t, e, notifies, true); got != len(notifies) {
			t.Errorf("round %d: %d of %d orders paid after re-delivery", round, got, len(notifies))
		}
	}
}

// crashSetup creates the products, coupons and crashOrders pending orders
// in the bolt file at path, and returns each order's payment notify.
func crashSetup(t *testing.T, path string) []crashNotify {
	t.Helper()
	e, err := openCrashEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.st.Close()
	ctx := context.Background()
	prices := map[string]int64{"tea": 1200, "cup": 300, "pot": 5000}
	for sku, stock := range crashStock {
		p := product.Product{SKU: sku, Title: "商品 " + sku, Price: prices[sku], Stock: &stock, Active: true}
		if _, err := product.New(e.st, product.Options{Now: time.Now}).Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var in coupon.CampaignInput
	raw := `{"title":"满减","discount":{"amount_off":200},"min_spend":1000,"stock":1000,"per_user_limit":100,"valid_days":30}`
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatal(err)
	}
	camp, _, err := e.coupons.CreateCampaign(ctx, in, "")
	if err != nil {
		t.Fatal(err)
	}
	skus := []string{"tea", "cup", "pot"}
	out := make([]crashNotify, 0, crashOrders)
	for i := range crashOrders {
		owner := fmt.Sprintf("crash%02d", i%crashUsers)
		items := map[string]int64{skus[i%3]: int64(1 + i%4), skus[(i+1)%3]: int64(1 + i%2)}
		req := order.CreateRequest{}
		for sku, q := range items {
			req.Items = append(req.Items, order.LineRequest{SKU: sku, Quantity: q})
		}
		if i%3 == 0 { // every third order takes a coupon
			c, _, err := e.coupons.Claim(ctx, owner, camp.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			req.CouponID = c.ID
		}
		got, err := e.orders.Create(ctx, owner, req, "")
		if err != nil {
			t.Fatal(err)
		}
		o := got.Order
		if o.Status != order.Pending {
			t.Fatalf("created order %s is %s", o.ID, o.Status)
		}
		out = append(out, crashNotify{
			NotifyID: "notify-" + o.ID, Owner: owner, OrderID: o.ID, CouponID: o.CouponID, Items: items,
			Tx: pay.Transaction{
				AppID: crashAppID, MchID: crashMchID, OutTradeNo: o.OutTradeNo, TransactionID: crashTxID(o.ID),
				TradeType: "JSAPI", TradeState: pay.StateSuccess, SuccessTime: time.Now().Truncate(time.Second),
				PayerOpenID: owner, Amount: pay.Amount{Total: o.Total, PayerTotal: o.Total, Currency: "CNY"},
			},
		})
	}
	return out
}

// crashOrder reads the order id as stored.
func crashOrder(t *testing.T, e *crashEnv, notifies []crashNotify, id string) order.Order {
	t.Helper()
	for _, n := range notifies {
		if n.OrderID == id {
			it, err := e.st.Get(context.Background(), store.Key{PK: "order#u#" + n.Owner, SK: id})
			if err != nil {
				t.Fatalf("order %s: %v", id, err)
			}
			var o order.Order
			if err := json.Unmarshal(it.Value, &o); err != nil {
				t.Fatal(err)
			}
			return o
		}
	}
	t.Fatalf("order %s is not one of the test's", id)
	return order.Order{}
}

type crashVersion struct {
	version int64
	paid    bool
}

// crashVersions returns the stored version of every order.
func crashVersions(t *testing.T, e *crashEnv, notifies []crashNotify) map[string]crashVersion {
	t.Helper()
	out := map[string]crashVersion{}
	for _, n := range notifies {
		it, err := e.st.Get(context.Background(), store.Key{PK: "order#u#" + n.Owner, SK: n.OrderID})
		if err != nil {
			t.Fatal(err)
		}
		out[n.OrderID] = crashVersion{it.Version, strings.Contains(string(it.Value), `"status":"paid"`)}
	}
	return out
}

// exists reports whether the item k is stored.
func exists(t *testing.T, st store.Store, k store.Key) bool {
	t.Helper()
	_, err := st.Get(context.Background(), k)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// crashCheck checks the invariants of the file and returns how many orders
// are paid. Each order is pending (no transaction, no notify record, its
// pending entry, its coupon locked, no points) or paid (its transaction, its
// notify record, no pending entry, its coupon used); credited points match
// the balances; stock is the initial stock less every order's quantities
// (pending orders hold theirs, paid ones sold them). With credited, every
// paid order must have had its points.
func crashCheck(t *testing.T, e *crashEnv, notifies []crashNotify, credited bool) int {
	t.Helper()
	ctx := context.Background()
	paid := 0
	held := map[string]int64{}
	earned := map[string]int64{}
	for _, n := range notifies {
		o := crashOrder(t, e, notifies, n.OrderID)
		for sku, q := range n.Items {
			held[sku] += q
		}
		notified := exists(t, e.st, store.Key{PK: "order#notify#" + n.NotifyID, SK: "notify"})
		inPending := exists(t, e.st, store.Key{PK: "order#pending", SK: n.OrderID})
		credit := hasOrderCredit(t, e.points, n.Owner, n.OrderID)
		var cs coupon.Status
		if n.CouponID != "" {
			c, err := e.coupons.Coupon(ctx, n.Owner, n.CouponID)
			if err != nil {
				t.Fatal(err)
			}
			cs = c.Status
		}
		switch o.Status {
		case order.Pending:
			if o.TransactionID != "" || o.PaidAt != nil || notified || !inPending || credit ||
				n.CouponID != "" && cs != coupon.Locked {
				t.Errorf("half-paid pending order %s: txid %q paid_at %v notify record %v pending entry %v credit %v coupon %s",
					o.ID, o.TransactionID, o.PaidAt, notified, inPending, credit, cs)
			}
		case order.Paid:
			paid++
			if o.TransactionID != n.Tx.TransactionID || o.PaidAt == nil || !notified || inPending ||
				n.CouponID != "" && cs != coupon.Used || credited && !credit {
				t.Errorf("half-paid paid order %s: txid %q paid_at %v notify record %v pending entry %v credit %v coupon %s",
					o.ID, o.TransactionID, o.PaidAt, notified, inPending, credit, cs)
			}
		default:
			t.Errorf("order %s is %s, want pending or paid", o.ID, o.Status)
		}
		if credit {
			earned[n.Owner] += o.Total * crashPerYuan / 100
		}
	}
	for sku, initial := range crashStock {
		it, err := e.st.Get(ctx, product.Key(sku))
		if err != nil {
			t.Fatal(err)
		}
		if it.N != initial-held[sku] {
			t.Errorf("stock of %s: %d, want %d - %d = %d", sku, it.N, initial, held[sku], initial-held[sku])
		}
	}
	for u := range crashUsers {
		owner := fmt.Sprintf("crash%02d", u)
		bal, err := e.points.Balance(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		ledger, _, err := e.points.Ledger(ctx, owner, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, en := range ledger {
			sum += en.Delta
		}
		if bal != earned[owner] || sum != bal {
			t.Errorf("%s: balance %d, ledger sum %d, credits %d", owner, bal, sum, earned[owner])
		}
	}
	return paid
}
