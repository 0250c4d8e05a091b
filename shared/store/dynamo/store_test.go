package dynamo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/dynamo"
	"github.com/minifn/minifn/shared/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		return storetest.OpenDynamo(t, now)
	})
}

// counter counts DynamoDB API calls by operation name (X-Amz-Target).
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	next  http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// take returns the calls counted since the last take.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = map[string]int{}
	return calls
}

func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

func openCounted(tb testing.TB, now func() time.Time) (*dynamo.Store, *counter) {
	tb.Helper()
	c := &counter{calls: map[string]int{}, next: http.DefaultTransport}
	st := dynamo.New(storetest.DynamoClient(storetest.Minidyn(tb), &http.Client{Transport: c}), "minifn", dynamo.Options{Now: now})
	if err := st.CreateTable(context.Background()); err != nil {
		tb.Fatal(err)
	}
	c.take()
	return st, c
}

// claimOps is the shape of a coupon claim: take one unit from a stock shard,
// count the user's claims under a limit, create the coupon, its redemption
// code and the idempotency record.
func claimOps(user, id string, expires time.Time) []store.Op {
	return []store.Op{
		store.Add(store.Key{PK: "campaign#c1", SK: "stock#3"}, -1).AtLeast(0),
		store.Add(store.Key{PK: "coupon#" + user, SK: "count#c1"}, 1).AtMost(2),
		store.Put(store.Item{Key: store.Key{PK: "coupon#" + user, SK: "coupon#" + id}, Value: []byte(`{"id":"` + id + `","status":"usable"}`)}).IfAbsent(),
		store.Put(store.Item{Key: store.Key{PK: "code#" + id, SK: "code"}, Value: []byte(`{"openid":"` + user + `"}`)}).IfAbsent(),
		store.Put(store.Item{Key: store.Key{PK: "idem#" + id, SK: "idem"}, Value: []byte(`{}`), ExpiresAt: expires}).IfAbsent(),
	}
}

// TestClaimCost pins what a claim-shaped Write costs on DynamoDB: one
// TransactWriteItems request whether it succeeds or fails its conditions.
func TestClaimCost(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(time.Time{})
	st, calls := openCounted(t, clock.Now)
	stock := store.Key{PK: "campaign#c1", SK: "stock#3"}
	if err := st.Write(ctx, store.Put(store.Item{Key: stock, N: 2})); err != nil {
		t.Fatal(err)
	}
	calls.take()
	for i, user := range []string{"u1", "u2"} {
		if err := st.Write(ctx, claimOps(user, "k"+user, clock.Now().Add(time.Hour))...); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		if got := calls.take(); got["TransactWriteItems"] != 1 || total(got) != 1 {
			t.Fatalf("claim %d made %v, want one TransactWriteItems", i, got)
		}
	}
	err := st.Write(ctx, claimOps("u3", "ku3", clock.Now().Add(time.Hour))...)
	if store.FailedOp(err) != 0 {
		t.Fatalf("claim on empty stock: got %v, want the stock op to fail", err)
	}
	if got := calls.take(); total(got) != 1 {
		t.Fatalf("sold-out claim made %v, want one request", got)
	}
	it, err := st.Get(ctx, stock)
	if err != nil || it.N != 0 {
		t.Fatalf("stock = %+v, %v; want 0", it, err)
	}
}

// TestExpiredCounter checks the second request that an expired but not yet
// deleted counter costs, and that the counter restarts from zero.
func TestExpiredCounter(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(time.Time{})
	st, calls := openCounted(t, clock.Now)
	k := store.Key{PK: "rl#u1", SK: "window"}
	other := store.Key{PK: "rl#u1", SK: "other"}
	if _, err := st.Add(ctx, store.Add(k, 5).ExpiringAt(clock.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	calls.take()

	n, err := st.Add(ctx, store.Add(k, 1).AtMost(3))
	if err != nil || n != 1 {
		t.Fatalf("add over expired counter = %d, %v; want 1", n, err)
	}
	if got := calls.take(); got["UpdateItem"] != 2 || total(got) != 2 {
		t.Fatalf("add over expired counter made %v, want two UpdateItem", got)
	}
	it, err := st.Get(ctx, k)
	if err != nil || it.N != 1 || it.Version != 1 || !it.ExpiresAt.IsZero() {
		t.Fatalf("restarted counter = %+v, %v; want N 1, version 1, no expiry", it, err)
	}

	// The same inside a transaction.
	if _, err := st.Add(ctx, store.Add(k, 1).ExpiringAt(clock.Now().Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	calls.take()
	if err := st.Write(ctx, store.Add(k, 7).AtMost(7), store.Put(store.Item{Key: other, Value: []byte("x")})); err != nil {
		t.Fatal(err)
	}
	if got := calls.take(); got["TransactWriteItems"] != 2 || total(got) != 2 {
		t.Fatalf("transaction over expired counter made %v, want two TransactWriteItems", got)
	}
	if it, err := st.Get(ctx, k); err != nil || it.N != 7 || it.Version != 1 {
		t.Fatalf("restarted counter = %+v, %v; want N 7, version 1", it, err)
	}

	// An add that the bounds refuse even from zero fails after one look.
	if _, err := st.Add(ctx, store.Add(k, 1).ExpiringAt(clock.Now().Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	calls.take()
	if _, err := st.Add(ctx, store.Add(k, 9).AtMost(8)); store.FailedOp(err) != 0 {
		t.Fatalf("add beyond bound over expired counter: %v, want condition failure", err)
	}
	if got := calls.take(); total(got) != 1 {
		t.Fatalf("refused add made %v, want one request", got)
	}
}

// conflicter answers the first n TransactWriteItems calls as DynamoDB does
// when another transaction holds one of the items.
type conflicter struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (c *conflicter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	conflict := strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") && c.n > 0
	if conflict {
		c.n--
	}
	c.mu.Unlock()
	if !conflict {
		return c.next.RoundTrip(r)
	}
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
		`"message":"Transaction cancelled [None, TransactionConflict]",` +
		`"CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}`
	return &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Request: r,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
}

// TestTransactionConflict: a transaction cancelled by a conflict is sent
// again; one that keeps conflicting ends in ErrUnavailable, never in a
// condition failure the caller would misread.
func TestTransactionConflict(t *testing.T) {
	ctx := context.Background()
	calls := &counter{calls: map[string]int{}, next: http.DefaultTransport}
	c := &conflicter{next: calls}
	st := dynamo.New(storetest.DynamoClient(storetest.Minidyn(t), &http.Client{Transport: c}), "minifn", dynamo.Options{})
	if err := st.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := store.Key{PK: "a", SK: "1"}, store.Key{PK: "b", SK: "1"}

	c.n = 2
	calls.take()
	if err := st.Write(ctx, store.Add(a, 1), store.Add(b, 1).AtMost(1)); err != nil {
		t.Fatalf("write after two conflicts: %v", err)
	}
	if got := calls.take()["TransactWriteItems"]; got != 1 {
		t.Fatalf("%d transactions reached the server, want 1 (after 2 conflicts)", got)
	}
	if it, err := st.Get(ctx, b); err != nil || it.N != 1 {
		t.Fatalf("after retried write: %+v, %v", it, err)
	}

	c.n = 1000
	err := st.Write(ctx, store.Add(a, 1), store.Add(b, 1).AtMost(5))
	if !errors.Is(err, store.ErrUnavailable) || store.FailedOp(err) != -1 {
		t.Fatalf("write that always conflicts: %v, want ErrUnavailable", err)
	}
	if it, _ := st.Get(ctx, b); it.N != 1 {
		t.Fatalf("a conflicting write was applied: N = %d", it.N)
	}
}

// TestUnavailable: a DynamoDB that cannot be reached is ErrUnavailable.
func TestUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
	st := dynamo.New(client, "minifn", dynamo.Options{})
	ctx := context.Background()
	k := store.Key{PK: "a", SK: "b"}
	if _, err := st.Get(ctx, k); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get: %v, want ErrUnavailable", err)
	}
	if err := st.Write(ctx, store.Put(store.Item{Key: k}), store.Delete(store.Key{PK: "a", SK: "c"})); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Write: %v, want ErrUnavailable", err)
	}
	if _, _, err := st.Query(ctx, "a", store.Query{}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Query: %v, want ErrUnavailable", err)
	}
}

// BenchmarkClaim reports the DynamoDB requests of a claim-shaped Write. (Its
// write units follow: a transaction bills 2 per item and KB, so 10 for the
// 5 small items; see docs/storage.md.)
func BenchmarkClaim(b *testing.B) {
	ctx := context.Background()
	st, calls := openCounted(b, time.Now)
	if err := st.Write(ctx, store.Put(store.Item{Key: store.Key{PK: "campaign#c1", SK: "stock#3"}, N: int64(b.N) + 1})); err != nil {
		b.Fatal(err)
	}
	calls.take()
	b.ResetTimer()
	for i := range b.N {
		user := "u" + strconv.Itoa(i)
		if err := st.Write(ctx, claimOps(user, "k"+user, time.Now().Add(time.Hour))...); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reqs := float64(total(calls.take())) / float64(b.N)
	b.ReportMetric(reqs, "requests/claim")
}

// TestOpenFromEnv opens the store the way a Lambda function does, from the
// standard variables alone (region, the role's credentials, and here an
// endpoint), and round-trips an item through the emulator. (A test of the
// environment on purpose: the AWS variables are the SDK's, not minifn's.)
func TestOpenFromEnv(t *testing.T) {
	endpoint := storetest.Minidyn(t)
	for k, v := range map[string]string{
		"AWS_REGION": "ap-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example",
		"AWS_SESSION_TOKEN": "token", "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
	ctx := context.Background()
	st, err := dynamo.Open(ctx, "minifn-env", dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	k := store.Key{PK: "env", SK: "item"}
	if err := st.Write(ctx, store.Put(store.Item{Key: k, Value: []byte("v")}).IfAbsent()); err != nil {
		t.Fatal(err)
	}
	if it, err := st.Get(ctx, k); err != nil || string(it.Value) != "v" || it.Version != 1 {
		t.Fatalf("Get: %+v %v", it, err)
	}
}
