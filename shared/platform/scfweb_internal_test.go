package platform

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/minifn/minifn/shared/accesslog"
)

// An SCF web function's access line names SCF's invocation
// (X-Scf-Request-Id, set by the platform only) next to its request id.
func TestSCFWebInvocationID(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(accesslog.NewHandler(&buf)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	h := withRequestID(withSCFWebClientIP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	for _, c := range []struct{ header, want string }{
		{"scf-inv-1", "scf-inv-1"},
		{"not sane; id", ""},
	} {
		buf.Reset()
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("X-Request-Id", "req-2")
		r.Header.Set("X-Scf-Request-Id", c.header)
		h.ServeHTTP(httptest.NewRecorder(), r)
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%q: not one JSON line: %q", c.header, buf.String())
		}
		got, _ := line["invocation_id"].(string)
		if got != c.want || line["request_id"] != "req-2" || line["status"] != 204.0 {
			t.Errorf("%q: invocation_id %q, want %q (line %v)", c.header, got, c.want, line)
		}
	}
}
