package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
)

// captureLogs sends slog's default logger to a buffer for the test.
func captureLogs(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &buf
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return body.Error.Code
}

// TestErrorClientGone: an error caused by the client hanging up (its
// request context canceled) is answered 499 and logged at INFO, not as a
// failure; the same error with the client still there is an internal 500.
func TestErrorClientGone(t *testing.T) {
	upstream := apperr.New(apperr.Upstream, "prepay_failed", "WeChat Pay could not create the payment").
		Wrap(fmt.Errorf("prepay: %w", context.Canceled))
	for _, c := range []struct {
		name     string
		err      error
		canceled bool
		status   int
		code     string
		level    string
	}{
		{"canceled by the client", upstream, true, httpapi.StatusClientClosed, "client_closed_request", "level=INFO"},
		{"bare context error, client gone", context.Canceled, true, httpapi.StatusClientClosed, "client_closed_request", "level=INFO"},
		{"canceled, client still there", upstream, false, http.StatusBadGateway, "prepay_failed", "level=ERROR"},
		{"another error, client gone", apperr.New(apperr.Unavailable, "store_unavailable", "down"), true, http.StatusServiceUnavailable, "store_unavailable", "level=ERROR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := captureLogs(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.canceled {
				cancel()
			}
			r := httptest.NewRequest("POST", "/orders", nil).WithContext(ctx)
			rec := httptest.NewRecorder()
			httpapi.Error(rec, r, c.err)
			if rec.Code != c.status || errorCode(t, rec) != c.code {
				t.Fatalf("got %d %s; want %d %s", rec.Code, rec.Body, c.status, c.code)
			}
			if !strings.Contains(logs.String(), c.level) {
				t.Fatalf("log %q; want a %s line", logs, c.level)
			}
		})
	}
}
