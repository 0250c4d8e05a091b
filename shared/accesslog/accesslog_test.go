package accesslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
)

func capture(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(accesslog.NewHandler(&buf)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &buf
}

// serve answers err through httpapi.Error on a request with an access line,
// and returns every line logged.
func serve(t *testing.T, ctx context.Context, err error) []map[string]any {
	t.Helper()
	buf := capture(t)
	ctx, entry := accesslog.Start(ctx, "r-1", "", "POST")
	r := httptest.NewRequest("POST", "/orders", nil).WithContext(ctx)
	accesslog.SetRoute(ctx, "POST /orders")
	rec := httptest.NewRecorder()
	httpapi.Error(rec, r, err)
	entry.Log(ctx, rec.Code)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not one JSON object a line: %q", buf.String())
		}
		lines = append(lines, m)
	}
	return lines
}

// A client that went away is one INFO line with its cause, not an ERROR:
// nothing failed on our side.
func TestClientGoneIsOneInfoLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lines := serve(t, ctx, ctx.Err())
	if len(lines) != 1 {
		t.Fatalf("%d lines: %v", len(lines), lines)
	}
	l := lines[0]
	if l["level"] != "INFO" || l["status"] != 499.0 || l["code"] != "client_closed_request" || l["err"] != "context canceled" {
		t.Errorf("line %v", l)
	}
}

// A 4xx is one INFO line with its code and no cause; a 5xx one ERROR line
// with both.
func TestErrorsOnTheAccessLine(t *testing.T) {
	lines := serve(t, context.Background(), apperr.New(apperr.Conflict, "sold_out", "sold out"))
	if len(lines) != 1 || lines[0]["level"] != "INFO" || lines[0]["code"] != "sold_out" || lines[0]["err"] != nil {
		t.Errorf("4xx: %v", lines)
	}
	lines = serve(t, context.Background(), apperr.New(apperr.Unavailable, "store_unavailable", "try again"))
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["code"] != "store_unavailable" || lines[0]["err"] == nil {
		t.Errorf("5xx: %v", lines)
	}
}

// Without an access line (a handler tested alone) nothing is set and
// nothing panics.
func TestNoEntry(t *testing.T) {
	ctx := context.Background()
	accesslog.SetRoute(ctx, "GET /x")
	accesslog.SetUser(ctx, "o")
	accesslog.WithFunction(ctx, "f")
	if accesslog.SetError(ctx, "c", nil) {
		t.Error("SetError reported an access line that does not exist")
	}
	accesslog.From(ctx).Log(ctx, 200)
}

func TestHashOpenID(t *testing.T) {
	// What the README's shell line gives: printf %s oUser | sha256sum | cut -c1-12
	if h := accesslog.HashOpenID("oUser"); h != "2efc929a0127" {
		t.Errorf("hash %q", h)
	}
	if accesslog.HashOpenID("a") == accesslog.HashOpenID("b") {
		t.Error("two openids, one hash")
	}
}
