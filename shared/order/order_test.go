package order_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/product"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

// each runs f on every available store backend.
func each(t *testing.T, f func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

func ptr[T any](v T) *T { return &v }

func line(sku string, q int64) order.CreateRequest {
	return order.CreateRequest{Items: []order.LineRequest{{SKU: sku, Quantity: q}}}
}

// pendingCount counts the orders the expiry job would see.
func pendingCount(t *testing.T, st store.Store) int {
	t.Helper()
	items, _, err := st.Query(context.Background(), "order#pending", store.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

func mustGet(t *testing.T, e *ordertest.Env, openid, id string) order.Order {
	t.Helper()
	o, err := e.Orders.Get(context.Background(), openid, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func couponStatus(t *testing.T, e *ordertest.Env, openid, id string) coupon.Status {
	t.Helper()
	c, err := e.Coupons.Coupon(context.Background(), openid, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}

func TestCreatePricesFromCatalog(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1200, ptr[int64](10))
		e.Product(t, "cup", 300, nil)
		c := e.Coupon(t, "u1", 500, 2000)
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 2}, {"cup", 1}, {"tea", 1}}, CouponID: c.ID}
		got, err := e.Orders.Create(ctx, "u1", req, "")
		if err != nil {
			t.Fatal(err)
		}
		o := got.Order
		if o.Subtotal != 3*1200+300 || o.Discount != 500 || o.Total != 3*1200+300-500 {
			t.Fatalf("subtotal %d discount %d total %d", o.Subtotal, o.Discount, o.Total)
		}
		if len(o.Items) != 2 || o.Items[0].Quantity != 3 || o.Items[0].Price != 1200 {
			t.Fatalf("items %+v", o.Items)
		}
		if o.Status != order.Pending || o.OutTradeNo != o.ID || len(o.ID) > 32 {
			t.Fatalf("order %+v", o)
		}
		if got.Payment == nil || got.Payment.Package == "" || got.Payment.PaySign == "" {
			t.Fatalf("payment %+v", got.Payment)
		}
		if s := e.Stock(t, "tea"); s != 7 {
			t.Fatalf("stock %d, want 7", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Locked {
			t.Fatalf("coupon %s, want locked", s)
		}
		// The emulator holds the transaction with the order's total and expiry.
		tx, err := e.Client.Query(ctx, o.OutTradeNo)
		if err != nil || tx.TradeState != pay.StateNotPay || tx.Amount.Total != o.Total {
			t.Fatalf("transaction %+v, %v", tx, err)
		}
	})
}

func TestCreateRefusals(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		e.Products.Put(ctx, productOff("off"))
		small := e.Coupon(t, "u1", 1500, 0)
		big := e.Coupon(t, "u1", 100, 99999)
		others := e.Coupon(t, "u2", 100, 0)
		for _, tc := range []struct {
			name string
			req  order.CreateRequest
			code string
		}{
			{"quantity0", line("tea", 0), "invalid_request"},
			{"quantity100", line("tea", 100), "invalid_request"},
			{"merged over 99", order.CreateRequest{Items: []order.LineRequest{{"tea", 50}, {"tea", 50}}}, "invalid_request"},
			{"no items", order.CreateRequest{}, "invalid_request"},
			{"unknown sku", line("nope", 1), "product_not_found"},
			{"inactive", line("off", 1), "product_inactive"},
			{"sold out", line("tea", 6), "sold_out"},
			{"total under 1 fen", order.CreateRequest{Items: []order.LineRequest{{"tea", 1}}, CouponID: small.ID}, "total_too_low"},
			{"min spend", order.CreateRequest{Items: []order.LineRequest{{"tea", 1}}, CouponID: big.ID}, "min_spend_not_met"},
			{"someone else's coupon", order.CreateRequest{Items: []order.LineRequest{{"tea", 1}}, CouponID: others.ID}, "coupon_not_found"},
		} {
			_, err := e.Orders.Create(ctx, "u1", tc.req, "")
			if code := codeOf(err); code != tc.code {
				t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
			}
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after refusals, want 5", s)
		}
		if s := couponStatus(t, e, "u1", small.ID); s != coupon.Usable {
			t.Fatalf("coupon %s after refusal, want usable", s)
		}
		if n := pendingCount(t, e.Store); n != 0 {
			t.Fatalf("%d pending orders after refusals", n)
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		first, err := e.Orders.Create(ctx, "u1", line("tea", 2), "key-1")
		if err != nil {
			t.Fatal(err)
		}
		// The same key with another request is refused, and creates nothing.
		if _, err := e.Orders.Create(ctx, "u1", line("tea", 3), "key-1"); !errors.Is(err, idem.ErrKeyReused) {
			t.Fatalf("same key, other quantity: %v; want idem.ErrKeyReused", err)
		}
		again, err := e.Orders.Create(ctx, "u1", line("tea", 2), "key-1")
		if err != nil {
			t.Fatal(err)
		}
		if !again.Replayed || again.Order.ID != first.Order.ID || again.Order.Total != 2000 {
			t.Fatalf("replay %+v of %+v", again.Order, first.Order)
		}
		if again.Payment.Package != first.Payment.Package || again.Payment.NonceStr == first.Payment.NonceStr {
			t.Fatalf("replay payment %+v, first %+v: want the same prepay_id, freshly signed", again.Payment, first.Payment)
		}
		if s := e.Stock(t, "tea"); s != 3 {
			t.Fatalf("stock %d, want 3", s)
		}
		// Another user's key is another key.
		other, err := e.Orders.Create(ctx, "u2", line("tea", 1), "key-1")
		if err != nil || other.Replayed || other.Order.ID == first.Order.ID {
			t.Fatalf("other user: %+v, %v", other, err)
		}
	})
}

// TestClientGoneMidPrepayReleases: a client that hangs up while WeChat Pay
// is prepaying (its request context canceled) gets prepay_failed, and the
// stock and the coupon are back at once, not after the expiry job: the
// release must not be canceled with the request.
func TestClientGoneMidPrepayReleases(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		e.Product(t, "tea", 1000, ptr[int64](5))
		c := e.Coupon(t, "u1", 100, 0)
		ctx, hangUp := context.WithCancel(context.Background())
		e.Pay.PrepayFn = func(ctx context.Context, _ pay.PrepayRequest) (string, error) {
			hangUp() // the client goes away while WeChat Pay is being called
			<-ctx.Done()
			return "", fmt.Errorf("prepay: %w", ctx.Err())
		}
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}, CouponID: c.ID}
		if _, err := e.Orders.Create(ctx, "u1", req, "k"); !errors.Is(err, order.ErrPrepayFailed) || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want prepay_failed caused by the cancel", err)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after the client hung up, want 5", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Usable {
			t.Fatalf("coupon %s after the client hung up, want usable", s)
		}
		if n := pendingCount(t, e.Store); n != 0 {
			t.Fatalf("%d pending entries after the client hung up", n)
		}
	})
}

// TestClientGoneMidCancelReleases: once WeChat Pay has closed the
// transaction, a cancel whose client hung up meanwhile still ends the order
// and gives the stock back.
func TestClientGoneMidCancelReleases(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		e.Product(t, "tea", 1000, ptr[int64](5))
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}}
		created, err := e.Orders.Create(context.Background(), "u1", req, "k")
		if err != nil {
			t.Fatal(err)
		}
		ctx, hangUp := context.WithCancel(context.Background())
		e.Pay.CloseFn = func(context.Context, string) error {
			hangUp() // WeChat Pay closed it; the client is gone by the time we write
			return nil
		}
		e.Orders.Cancel(ctx, "u1", created.Order.ID)
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after the client hung up mid-cancel, want 5", s)
		}
		if got, err := e.Orders.Get(context.Background(), "u1", created.Order.ID); err != nil || got.Status != order.Cancelled {
			t.Fatalf("order %+v, %v; want cancelled", got, err)
		}
	})
}

func TestPrepayFailureReleasesEverything(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		c := e.Coupon(t, "u1", 100, 0)
		var prepays atomic.Int32
		e.Pay.PrepayFn = func(context.Context, pay.PrepayRequest) (string, error) {
			prepays.Add(1)
			return "", pay.ErrUnavailable
		}
		req := order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}, CouponID: c.ID}
		_, err := e.Orders.Create(ctx, "u1", req, "k")
		if !errors.Is(err, order.ErrPrepayFailed) {
			t.Fatalf("got %v, want prepay_failed", err)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after failed prepay, want 5", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Usable {
			t.Fatalf("coupon %s after failed prepay, want usable", s)
		}
		if n := pendingCount(t, e.Store); n != 0 {
			t.Fatalf("%d pending entries after failed prepay", n)
		}
		list, _, _ := e.Orders.List(ctx, "u1", "", 10)
		if len(list) != 1 || list[0].Status != order.Closed || list[0].CloseReason != order.ReasonPrepayFailed {
			t.Fatalf("orders %+v", list)
		}
		// A retry with the same key gets the same answer and changes nothing.
		if _, err := e.Orders.Create(ctx, "u1", req, "k"); !errors.Is(err, order.ErrPrepayFailed) {
			t.Fatalf("replay: %v", err)
		}
		if prepays.Load() != 1 || e.Stock(t, "tea") != 5 {
			t.Fatalf("replay prepaid again (%d) or moved stock (%d)", prepays.Load(), e.Stock(t, "tea"))
		}
		// Once WeChat Pay is back, a new order works and may use the coupon.
		e.Pay.PrepayFn = nil
		if _, err := e.Orders.Create(ctx, "u1", req, "k2"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStockRush(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "hot", 100, ptr[int64](50))
		var ok, soldOut atomic.Int32
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.Orders.Create(ctx, fmt.Sprintf("user%03d", i), line("hot", 1), "")
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, order.ErrSoldOut):
					soldOut.Add(1)
				default:
					t.Errorf("user%03d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 50 || soldOut.Load() != 150 {
			t.Fatalf("%d orders, %d sold out; want 50 and 150", ok.Load(), soldOut.Load())
		}
		if s := e.Stock(t, "hot"); s != 0 {
			t.Fatalf("stock %d, want 0", s)
		}
		if n := pendingCount(t, e.Store); n != 50 {
			t.Fatalf("%d orders hold stock, want 50", n)
		}
		if n := len(e.Emulator.PendingTransactions()); n != 50 {
			t.Fatalf("%d transactions at WeChat Pay, want 50", n)
		}
	})
}

func TestCouponRace(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, nil)
		c := e.Coupon(t, "u1", 100, 0)
		var wg sync.WaitGroup
		ids := make(chan string, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := e.Orders.Create(ctx, "u1", order.CreateRequest{Items: []order.LineRequest{{"tea", 1}}, CouponID: c.ID}, "")
				switch {
				case err == nil:
					ids <- got.Order.ID
				case !errors.Is(err, coupon.ErrCouponUnusable):
					t.Errorf("got %v, want coupon_unusable", err)
				}
			}()
		}
		wg.Wait()
		close(ids)
		var won []string
		for id := range ids {
			won = append(won, id)
		}
		if len(won) != 1 {
			t.Fatalf("%d orders locked the coupon, want 1", len(won))
		}
		cp, _ := e.Coupons.Coupon(ctx, "u1", c.ID)
		if cp.Status != coupon.Locked || cp.OrderID != won[0] {
			t.Fatalf("coupon %+v, want locked to %s", cp, won[0])
		}
	})
}

func TestCancel(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		c := e.Coupon(t, "u1", 100, 0)
		got, err := e.Orders.Create(ctx, "u1", order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}, CouponID: c.ID}, "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		if _, err := e.Orders.Cancel(ctx, "u2", id); !errors.Is(err, order.ErrNotFound) {
			t.Fatalf("another user's cancel: %v", err)
		}
		o, err := e.Orders.Cancel(ctx, "u1", id)
		if err != nil || o.Status != order.Cancelled || o.CancelledAt == nil {
			t.Fatalf("cancel: %+v, %v", o, err)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d, want 5", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Usable {
			t.Fatalf("coupon %s, want usable", s)
		}
		if tx, _ := e.Client.Query(ctx, id); tx.TradeState != pay.StateClosed {
			t.Fatalf("WeChat Pay state %s, want CLOSED", tx.TradeState)
		}
		if err := e.Emulator.Pay(ctx, id); !errors.Is(err, emulator.ErrClosed) {
			t.Fatalf("paying a cancelled order: %v", err)
		}
		if again, err := e.Orders.Cancel(ctx, "u1", id); err != nil || again.Status != order.Cancelled {
			t.Fatalf("second cancel: %+v, %v", again, err)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d after second cancel, want 5", s)
		}
	})
}

func TestCloseFailureKeepsOrder(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		got, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		e.Pay.CloseFn = func(context.Context, string) error { return pay.ErrUnavailable }
		if _, err := e.Orders.Cancel(ctx, "u1", got.Order.ID); !errors.Is(err, pay.ErrUnavailable) {
			t.Fatalf("cancel with WeChat Pay down: %v", err)
		}
		if o := mustGet(t, e, "u1", got.Order.ID); o.Status != order.Pending || e.Stock(t, "tea") != 4 {
			t.Fatalf("order %s, stock %d: a failed close must change nothing", o.Status, e.Stock(t, "tea"))
		}
	})
}

// TestCancelRacingPay races a user's cancel with the payer paying: either
// the payment wins (the order is paid and keeps its stock) or the close wins
// (WeChat Pay refuses the payment, the stock comes back); never both.
func TestCancelRacingPay(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		const n = 12
		e.Product(t, "tea", 1000, ptr[int64](n))
		for i := range n {
			got, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
			if err != nil {
				t.Fatal(err)
			}
			id := got.Order.ID
			var payErr, cancelErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				// A close is an HTTP round trip, a payment here is not:
				// spread the payments over that time.
				time.Sleep(time.Duration(i%4) * time.Millisecond)
				payErr = e.Emulator.Pay(ctx, id)
			}()
			go func() { defer wg.Done(); _, cancelErr = e.Orders.Cancel(ctx, "u1", id) }()
			wg.Wait()
			if payErr == nil {
				e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			}
			o := mustGet(t, e, "u1", id)
			tx, _ := e.Client.Query(ctx, id)
			switch {
			case payErr == nil:
				if o.Status != order.Paid || tx.TradeState != pay.StateSuccess || !errors.Is(cancelErr, order.ErrNotCancellable) {
					t.Fatalf("round %d: paid at WeChat Pay, order %s, cancel %v", i, o.Status, cancelErr)
				}
			case errors.Is(payErr, emulator.ErrClosed):
				if o.Status != order.Cancelled || tx.TradeState != pay.StateClosed || cancelErr != nil {
					t.Fatalf("round %d: closed at WeChat Pay, order %s, cancel %v", i, o.Status, cancelErr)
				}
			default:
				t.Fatalf("round %d: pay: %v", i, payErr)
			}
		}
		list, _, _ := e.Orders.List(ctx, "u1", "", 100)
		var paid int64
		for _, o := range list {
			if o.Status == order.Paid {
				paid++
			}
		}
		t.Logf("%d of %d paid in the race", paid, n)
		if s := e.Stock(t, "tea"); s != n-paid {
			t.Fatalf("stock %d with %d paid of %d", s, paid, n)
		}
	})
}

// TestPaidAfterCancel: a payment reaches an order that was already cancelled
// locally (here: the close is lost, so WeChat Pay still takes the payment).
// The order is refunded in full automatically; the stock and coupon, already
// released, are not touched again.
func TestPaidAfterCancel(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		c := e.Coupon(t, "u1", 100, 0)
		got, err := e.Orders.Create(ctx, "u1", order.CreateRequest{Items: []order.LineRequest{{"tea", 2}}, CouponID: c.ID}, "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		e.Pay.CloseFn = func(context.Context, string) error { return nil } // the close never reaches WeChat Pay
		if _, err := e.Orders.Cancel(ctx, "u1", id); err != nil {
			t.Fatal(err)
		}
		if err := e.Emulator.Pay(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		e.WaitNotify(t, id, "REFUND.SUCCESS")
		o := mustGet(t, e, "u1", id)
		if o.Status != order.Refunded || o.Refunded != o.Total || o.TransactionID == "" || len(o.Refunds) != 1 || !o.Refunds[0].Auto {
			t.Fatalf("order %+v, want refunded automatically", o)
		}
		if s := e.Stock(t, "tea"); s != 5 {
			t.Fatalf("stock %d, want 5", s)
		}
		if s := couponStatus(t, e, "u1", c.ID); s != coupon.Usable {
			t.Fatalf("coupon %s, want usable", s)
		}
		if tx, _ := e.Client.Query(ctx, id); tx.TradeState != pay.StateRefund {
			t.Fatalf("WeChat Pay state %s, want REFUND", tx.TradeState)
		}
	})
}

func TestExpiry(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{TTL: 2 * time.Minute})
		ctx := context.Background()
		const n = 30
		e.Product(t, "tea", 1000, ptr[int64](n))
		c := e.Coupon(t, "u0", 100, 0)
		var ids []string
		for i := range n {
			req := line("tea", 1)
			if i == 0 {
				req.CouponID = c.ID
			}
			got, err := e.Orders.Create(ctx, fmt.Sprintf("u%d", i), req, "")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got.Order.ID)
		}
		if closed, err := e.Orders.Expire(ctx); closed != 0 || err != nil {
			t.Fatalf("expire before the TTL: %d, %v", closed, err)
		}
		e.Clock.Advance(2*time.Minute + time.Second)
		young, err := e.Orders.Create(ctx, "late", line("tea", 1), "")
		if !errors.Is(err, order.ErrSoldOut) {
			t.Fatalf("stock should be all held: %+v %v", young, err)
		}
		// Two runs at once: each order is closed once.
		var total atomic.Int32
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				closed, err := e.Orders.Expire(ctx)
				if err != nil {
					t.Error(err)
				}
				total.Add(int32(closed))
			}()
		}
		wg.Wait()
		if total.Load() != n {
			t.Fatalf("closed %d, want %d", total.Load(), n)
		}
		for i, id := range ids {
			o := mustGet(t, e, fmt.Sprintf("u%d", i), id)
			if o.Status != order.Closed || o.CloseReason != order.ReasonExpired {
				t.Fatalf("order %s: %s %s", id, o.Status, o.CloseReason)
			}
		}
		if s := e.Stock(t, "tea"); s != n {
			t.Fatalf("stock %d, want %d", s, n)
		}
		if s := couponStatus(t, e, "u0", c.ID); s != coupon.Usable {
			t.Fatalf("coupon %s, want usable", s)
		}
		if pendingCount(t, e.Store) != 0 || len(e.Emulator.PendingTransactions()) != 0 {
			t.Fatal("pending orders or transactions left")
		}
	})
}

// TestExpiryRacingPay pays orders at the last second of their validity while
// the expiry job closes them: each ends paid with its stock, or closed with
// its stock back, matching WeChat Pay.
func TestExpiryRacingPay(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := ordertest.New(t, b, ordertest.Options{TTL: 2 * time.Minute})
		ctx := context.Background()
		const n = 20
		e.Product(t, "tea", 1000, ptr[int64](n))
		var ids []string
		for range n {
			got, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got.Order.ID)
		}
		e.Clock.Advance(2 * time.Minute) // the expiry instant: still payable, already due
		// The job closes oldest first; the payer pays newest first, so that
		// they meet somewhere in the middle.
		sort.Strings(ids)
		var wg sync.WaitGroup
		paid := make([]bool, n)
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.Orders.Expire(ctx); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for i := n - 1; i >= 0; i-- {
				time.Sleep(time.Millisecond) // a close is an HTTP call: let the job keep up
				err := e.Emulator.Pay(ctx, ids[i])
				paid[i] = err == nil
				if err != nil && !errors.Is(err, emulator.ErrClosed) {
					t.Error(err)
				}
			}
		}()
		wg.Wait()
		var npaid int64
		for i, id := range ids {
			if paid[i] {
				npaid++
				e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
			}
		}
		// A second run finds nothing left to do.
		if _, err := e.Orders.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			o := mustGet(t, e, "u1", id)
			tx, _ := e.Client.Query(ctx, id)
			if paid[i] && (o.Status != order.Paid || tx.TradeState != pay.StateSuccess) ||
				!paid[i] && (o.Status != order.Closed || tx.TradeState != pay.StateClosed) {
				t.Fatalf("order %s: paid %v, status %s, WeChat Pay %s", id, paid[i], o.Status, tx.TradeState)
			}
		}
		if s := e.Stock(t, "tea"); s != n-npaid {
			t.Fatalf("stock %d with %d of %d paid", s, npaid, n)
		}
		t.Logf("%d of %d paid in the race", npaid, n)
	})
}

func TestReconcileOnRead(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		// Notifies go nowhere: only the query can tell that it was paid.
		e := ordertest.New(t, b, ordertest.Options{NotifyPath: "/lost"})
		ctx := context.Background()
		e.Product(t, "tea", 1000, ptr[int64](5))
		got, err := e.Orders.Create(ctx, "u1", line("tea", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		id := got.Order.ID
		if err := e.Emulator.Pay(ctx, id); err != nil {
			t.Fatal(err)
		}
		if o := mustGet(t, e, "u1", id); o.Status != order.Pending {
			t.Fatalf("a fresh order is not queried: %s", o.Status)
		}
		e.Clock.Advance(order.ReconcileAfter + time.Second)
		o := mustGet(t, e, "u1", id)
		if o.Status != order.Paid || o.TransactionID == "" || o.PaidAt == nil {
			t.Fatalf("after reconciling: %+v", o)
		}
		if _, err := e.Orders.Get(ctx, "u2", id); !errors.Is(err, order.ErrNotFound) {
			t.Fatalf("another user's read: %v", err)
		}
		if n := pendingCount(t, e.Store); n != 0 {
			t.Fatalf("%d pending entries after payment", n)
		}
	})
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return apperr.CodeOf(err)
}

func productOff(sku string) product.Product {
	return product.Product{SKU: sku, Title: "off " + sku, Price: 100, Active: false}
}

// ordTx is a TRANSACTION.SUCCESS resource as WeChat Pay sends it.
func ordTx(outTradeNo string, total int64, at time.Time) map[string]any {
	return map[string]any{
		"appid": ordertest.AppID, "mchid": ordertest.MchID, "out_trade_no": outTradeNo,
		"transaction_id": "42000000002024" + outTradeNo[len(outTradeNo)-14:], "trade_type": "JSAPI",
		"trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": at.Format(time.RFC3339), "payer": map[string]any{"openid": "u1"},
		"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
	}
}
