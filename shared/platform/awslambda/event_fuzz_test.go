package awslambda_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/minifn/minifn/shared/platform/awslambda"
)

// FuzzInvoke feeds the adapter arbitrary event payloads. It never panics;
// an event it accepts reaches the handler as a well-formed request (a
// method, a path starting with /, a body that reads to the end) and comes
// back as a response with a valid HTTP status; the timer job runs only
// for timer events, and then the handler does not. Seeds: the captured
// events of testdata/events and some malformed ones.
//
//	go test ./shared/platform/awslambda -run '^$' -fuzz FuzzInvoke -fuzztime 30s
func FuzzInvoke(f *testing.F) {
	for _, name := range []string{"lambda-function-url.json", "apigw-http-v2.json", "eventbridge-scheduled.json"} {
		b, err := os.ReadFile(filepath.Join("../../../testdata/events", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{"requestContext":{"http":{"method":"GET"}},"rawPath":"//../x?y","headers":{"content-length":"-1"}}`, `{"source":"aws.events","detail-type":"Scheduled Event"}`, `{"requestContext":{"http":{"method":"POST"}},"body":"!!","isBase64Encoded":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var served, jobs int
		h := &awslambda.Handler{
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served++
				if r.Method == "" || r.URL == nil || len(r.URL.Path) == 0 || r.URL.Path[0] != '/' {
					t.Errorf("malformed request: method %q, url %v", r.Method, r.URL)
				}
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					t.Errorf("reading the body: %v", err)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTeapot)
				w.Write([]byte(`{"ok":true}`))
			}),
			Job: func(context.Context) error { jobs++; return nil },
		}
		out, err := h.Invoke(context.Background(), payload)
		if served+jobs > 1 {
			t.Fatalf("one event served %d requests and ran %d jobs", served, jobs)
		}
		if err != nil || jobs == 1 {
			return
		}
		var resp struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %q is not JSON: %v", out, err)
		}
		if served == 1 && resp.StatusCode != http.StatusTeapot {
			t.Fatalf("the handler's status was lost: %s", out)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("status %d in %s", resp.StatusCode, out)
		}
	})
}
