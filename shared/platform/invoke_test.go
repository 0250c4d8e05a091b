package platform_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/platform"
)

func TestInvokeInProcess(t *testing.T) {
	var got string
	f := platform.Function{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = r.Method + " " + r.URL.Path + " " + string(b)
		w.WriteHeader(http.StatusAccepted)
	})}
	for _, tc := range []struct{ kind, fixture, want string }{
		{"lambda", "lambda-function-url.json", `POST /coupons/claim {"campaign_id":"cmp_1"}`},
		{"scf", "scf-function-url.json", `POST /login {"code":"0a3Xyz"}`},
	} {
		out, err := platform.Invoke(context.Background(), f, tc.kind, readFixture(t, tc.fixture))
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		var res struct{ StatusCode int }
		if err := json.Unmarshal(out, &res); err != nil || res.StatusCode != http.StatusAccepted || got != tc.want {
			t.Errorf("%s: response %s (%v), handler saw %q", tc.kind, out, err, got)
		}
	}
	if _, err := platform.Invoke(context.Background(), f, "azure", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "azure") {
		t.Errorf("unknown platform: %v", err)
	}
	if _, err := platform.Invoke(context.Background(), f, "scf", readFixture(t, "scf-timer.json")); err == nil {
		t.Error("a timer event to a function without a job succeeded")
	}
}
