package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/session"
)

// logBuffer is a bytes.Buffer that the server's goroutines may write to.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// captureLogs sends slog's lines to a buffer, as JSON, for the test.
func captureLogs(t *testing.T) *logBuffer {
	t.Helper()
	buf := &logBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(accesslog.NewHandler(buf)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

// logLines returns the lines logged since the last call, but the server's
// "listening" line.
func logLines(t *testing.T, buf *logBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" || strings.Contains(l, `"msg":"minifn listening"`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %q", l)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

// refundFunction is a function whose refund route fails on our side, as a
// store outage would, and whose /me knows its user.
func refundFunction() platform.Function {
	rt := httpapi.NewRouter()
	rt.HandleFunc("POST /orders/{id}/refund", func(w http.ResponseWriter, r *http.Request) error {
		return apperr.New(apperr.Internal, "internal", "internal error").Wrap(errors.New("store: connection refused"))
	})
	rt.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) error {
		session.WithUser(r.Context(), "oUser-openid-1")
		httpapi.JSON(w, http.StatusOK, map[string]string{"ok": "yes"})
		return nil
	})
	return platform.Function{Handler: accesslog.Named("orders", rt)}
}

func wantFields(t *testing.T, line map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if _, ok := line["latency_ms"].(float64); !ok {
		t.Errorf("no latency_ms in %v", line)
	}
}

// In HTTP mode (local, SCF web functions) each request logs one line naming
// the route's pattern, not the path; a 5xx logs it at ERROR with its cause,
// and no second line.
func TestAccessLineHTTP(t *testing.T) {
	buf := captureLogs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- platform.Serve(ctx, ln, refundFunction().Handler) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()

	req, _ := http.NewRequest("POST", base+"/orders/o-42/refund", nil)
	req.Header.Set("X-Request-Id", "req-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	lines := logLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("%d lines for one request: %v", len(lines), lines)
	}
	wantFields(t, lines[0], map[string]any{"level": "ERROR", "msg": "request", "request_id": "req-1",
		"function": "orders", "method": "POST", "route": "POST /orders/{id}/refund", "status": 500.0,
		"code": "internal"})
	if e, _ := lines[0]["err"].(string); !strings.Contains(e, "store: connection refused") {
		t.Errorf("err = %q, want the cause", e)
	}
	if _, ok := lines[0]["invocation_id"]; ok {
		t.Errorf("invocation_id outside a cloud: %v", lines[0])
	}

	res, err = http.Get(base + "/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	lines = logLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("%d lines for one request: %v", len(lines), lines)
	}
	wantFields(t, lines[0], map[string]any{"level": "INFO", "route": "GET /me", "status": 200.0,
		"user": accesslog.HashOpenID("oUser-openid-1"), "request_id": res.Header.Get("X-Request-Id")})
	if strings.Contains(buf.String(), "oUser-openid-1") {
		t.Error("the openid itself was logged")
	}

	res, err = http.Get(base + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	lines = logLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("%d lines for one request: %v", len(lines), lines)
	}
	wantFields(t, lines[0], map[string]any{"level": "INFO", "route": "", "status": 404.0, "code": "not_found"})
}

// On Lambda the line carries API Gateway's request id and the invocation's
// AwsRequestID, which Lambda's own START/END/REPORT lines name.
func TestAccessLineLambda(t *testing.T) {
	buf := captureLogs(t)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv-7"})
	out, err := platform.Invoke(ctx, refundFunction(), "lambda", []byte(`{"version":"2.0","rawPath":"/orders/o-1/refund",
		"headers":{"content-type":"application/json"},
		"requestContext":{"requestId":"gw-9","http":{"method":"POST","path":"/orders/o-1/refund","sourceIp":"203.0.113.9"}}}`))
	if err != nil || !strings.Contains(string(out), `"statusCode":500`) {
		t.Fatalf("invoke: %s %v", out, err)
	}
	lines := logLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("%d lines for one request: %v", len(lines), lines)
	}
	wantFields(t, lines[0], map[string]any{"level": "ERROR", "request_id": "gw-9", "invocation_id": "inv-7",
		"function": "orders", "route": "POST /orders/{id}/refund", "status": 500.0, "code": "internal"})
}

// On SCF, an event without API Gateway's context is known by SCF's request
// id alone.
func TestAccessLineSCF(t *testing.T) {
	buf := captureLogs(t)
	ctx := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{RequestID: "scf-5"})
	out, err := platform.Invoke(ctx, refundFunction(), "scf", []byte(`{"httpMethod":"GET","path":"/me","headers":{}}`))
	if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
		t.Fatalf("invoke: %s %v", out, err)
	}
	lines := logLines(t, buf)
	if len(lines) != 1 {
		t.Fatalf("%d lines for one request: %v", len(lines), lines)
	}
	wantFields(t, lines[0], map[string]any{"level": "INFO", "request_id": "scf-5", "route": "GET /me", "status": 200.0})
	if _, ok := lines[0]["invocation_id"]; ok {
		t.Errorf("invocation_id repeats the request id: %v", lines[0])
	}
}
