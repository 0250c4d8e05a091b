package awslambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/minifn/minifn/shared/platform/awslambda"
	"github.com/minifn/minifn/shared/platform/internal/bridge"
	"github.com/minifn/minifn/shared/requestid"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// capture serves h after recording the request and its body.
type capture struct {
	r    *http.Request
	body []byte
	then http.HandlerFunc
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.r = r
	c.body, _ = io.ReadAll(r.Body)
	if c.then != nil {
		c.then(w, r)
	}
}

func invoke(t *testing.T, h *awslambda.Handler, event []byte) events.LambdaFunctionURLResponse {
	t.Helper()
	out, err := h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return res
}

func TestFunctionURLRequest(t *testing.T) {
	c := &capture{then: func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":"中"}`)
	}}
	res := invoke(t, &awslambda.Handler{HTTP: c}, fixture(t, "lambda-function-url.json"))

	r := c.r
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("Method", r.Method, "POST")
	check("URL.Path", r.URL.Path, "/coupons/claim")
	check("RequestURI", r.RequestURI, "/coupons/claim?src=share&src=banner&q=%E4%B8%AD")
	check("Query src", r.URL.Query()["src"], []string{"share", "banner"})
	check("Query q", r.URL.Query().Get("q"), "中")
	check("Host", r.Host, "abcdefghijklmnopqrstuvwxyz0123.lambda-url.ap-east-1.on.aws")
	check("RemoteAddr", r.RemoteAddr, "203.0.113.7:0")
	check("X-Multi", r.Header.Get("X-Multi"), "one,two")
	check("Authorization", r.Header.Get("Authorization"), "Bearer t0k3n")
	check("Cookie", r.Header.Get("Cookie"), "session=abc; theme=dark")
	check("Host header removed", r.Header.Get("Host"), "")
	check("body", string(c.body), `{"campaign_id":"cmp_1"}`)
	check("ContentLength", r.ContentLength, int64(len(`{"campaign_id":"cmp_1"}`)))
	check("request id", requestid.From(r.Context()), "c7f2a1b4-2f5e-4a1b-9f0e-3d2c1b0a9e8f")
	if ck, err := r.Cookie("theme"); err != nil || ck.Value != "dark" {
		t.Errorf("cookie theme = %v, %v", ck, err)
	}

	check("statusCode", res.StatusCode, http.StatusCreated)
	check("X-Multi out", res.Headers["X-Multi"], "x,y")
	check("X-Request-Id", res.Headers["X-Request-Id"], "c7f2a1b4-2f5e-4a1b-9f0e-3d2c1b0a9e8f")
	check("cookies", res.Cookies, []string{"a=1", "b=2"})
	check("Set-Cookie not in headers", res.Headers["Set-Cookie"], "")
	check("body out", res.Body, `{"ok":"中"}`)
	check("isBase64Encoded", res.IsBase64Encoded, false)
}

func TestHTTPAPIBase64BodyAndEscapedPath(t *testing.T) {
	c := &capture{}
	res := invoke(t, &awslambda.Handler{HTTP: c}, fixture(t, "apigw-http-v2.json"))
	if c.r.Method != "PUT" || c.r.URL.Path != "/prod/orders/o/1" || c.r.URL.EscapedPath() != "/prod/orders/o%2F1" {
		t.Errorf("got %s %q (escaped %q)", c.r.Method, c.r.URL.Path, c.r.URL.EscapedPath())
	}
	want, _ := base64.StdEncoding.DecodeString("AAEC/f7/iVA=")
	if string(c.body) != string(want) {
		t.Errorf("body = %x, want %x", c.body, want)
	}
	if c.r.RemoteAddr != "198.51.100.20:0" {
		t.Errorf("RemoteAddr = %q", c.r.RemoteAddr)
	}
	if res.StatusCode != http.StatusOK || res.Body != "" {
		t.Errorf("empty handler answered %d %q", res.StatusCode, res.Body)
	}
}

func TestBinaryResponseIsBase64(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff")
	h := &awslambda.Handler{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	})}
	res := invoke(t, h, fixture(t, "lambda-function-url.json"))
	got, err := base64.StdEncoding.DecodeString(res.Body)
	if !res.IsBase64Encoded || err != nil || string(got) != string(png) {
		t.Errorf("isBase64Encoded=%v body=%q (%v)", res.IsBase64Encoded, res.Body, err)
	}
}

func TestPanicIs500AndLambdaIDWithoutEventID(t *testing.T) {
	h := &awslambda.Handler{HTTP: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })}
	var evt map[string]any
	json.Unmarshal(fixture(t, "lambda-function-url.json"), &evt)
	delete(evt["requestContext"].(map[string]any), "requestId")
	b, _ := json.Marshal(evt)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-id-1"})
	out, err := h.Invoke(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var res events.LambdaFunctionURLResponse
	json.Unmarshal(out, &res)
	if res.StatusCode != 500 || res.Body != `{"error":{"code":"internal","message":"internal error"}}`+"\n" {
		t.Errorf("panic answered %d %q", res.StatusCode, res.Body)
	}
	if res.Headers["X-Request-Id"] != "lambda-id-1" {
		t.Errorf("X-Request-Id = %q, want the Lambda invocation id", res.Headers["X-Request-Id"])
	}
}

func TestScheduledEventRunsJob(t *testing.T) {
	var gotID string
	h := &awslambda.Handler{Job: func(ctx context.Context) error { gotID = requestid.From(ctx); return nil }}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv-7"})
	out, err := h.Invoke(ctx, fixture(t, "eventbridge-scheduled.json"))
	if err != nil || string(out) != `{"ok":true}` || gotID != "inv-7" {
		t.Errorf("Invoke = %s, %v; job saw id %q", out, err, gotID)
	}
}

func TestFailedEvents(t *testing.T) {
	jobErr := errors.New("store down")
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, tc := range []struct {
		name  string
		h     *awslambda.Handler
		event []byte
		want  error
	}{
		{"garbage", &awslambda.Handler{HTTP: ok}, []byte("\x00not json{{"), bridge.ErrUnknownEvent},
		{"JSON string", &awslambda.Handler{HTTP: ok}, []byte(`"hello"`), bridge.ErrUnknownEvent},
		{"empty object", &awslambda.Handler{HTTP: ok}, []byte(`{}`), bridge.ErrUnknownEvent},
		{"SQS event", &awslambda.Handler{HTTP: ok}, []byte(`{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`), bridge.ErrUnknownEvent},
		{"bad base64 body", &awslambda.Handler{HTTP: ok}, []byte(`{"rawPath":"/","requestContext":{"http":{"method":"POST"}},"body":"!!","isBase64Encoded":true}`), bridge.ErrUnknownEvent},
		{"HTTP to job-only", &awslambda.Handler{Job: func(context.Context) error { return nil }}, fixture(t, "lambda-function-url.json"), bridge.ErrNoHandler},
		{"timer to no job", &awslambda.Handler{HTTP: ok}, fixture(t, "eventbridge-scheduled.json"), bridge.ErrNoJob},
		{"job fails", &awslambda.Handler{Job: func(context.Context) error { return jobErr }}, fixture(t, "eventbridge-scheduled.json"), jobErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.h.Invoke(context.Background(), tc.event)
			if !errors.Is(err, tc.want) {
				t.Errorf("Invoke = %s, %v; want %v", out, err, tc.want)
			}
		})
	}
	t.Run("job panics", func(t *testing.T) {
		h := &awslambda.Handler{Job: func(context.Context) error { panic("job boom") }}
		if _, err := h.Invoke(context.Background(), fixture(t, "eventbridge-scheduled.json")); err == nil {
			t.Error("a panicking job reported success")
		}
	})
}
