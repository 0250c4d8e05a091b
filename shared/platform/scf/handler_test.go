package scf_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
	"github.com/minifn/minifn/shared/platform/scf"
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

// response is the integration response as API Gateway reads it.
type response struct {
	IsBase64Encoded bool                       `json:"isBase64Encoded"`
	StatusCode      int                        `json:"statusCode"`
	Headers         map[string]json.RawMessage `json:"headers"`
	Body            string                     `json:"body"`
}

func invoke(t *testing.T, ctx context.Context, h *scf.Handler, event []byte) response {
	t.Helper()
	out, err := h.Invoke(ctx, event)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var res response
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return res
}

func check(t *testing.T, name string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", name, got, want)
	}
}

func TestAPIGatewayRequest(t *testing.T) {
	c := &capture{then: func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`)
	}}
	res := invoke(t, context.Background(), &scf.Handler{HTTP: c}, fixture(t, "scf-apigw.json"))
	r := c.r
	check(t, "Method", r.Method, "POST")
	check(t, "URL.Path", r.URL.Path, "/release/coupons/claim")
	check(t, "Query", r.URL.Query(), url.Values{"src": {"share", "banner"}, "q": {"中"}, "debug": {""}})
	check(t, "RawQuery (sorted)", r.URL.RawQuery, "debug=&q=%E4%B8%AD&src=share&src=banner")
	check(t, "Host", r.Host, "service-f94sy04v-1250000000.gz.apigw.tencentcs.com")
	check(t, "RemoteAddr", r.RemoteAddr, "10.0.2.14:0")
	check(t, "Cookie", r.Header.Get("Cookie"), "session=abc; theme=dark")
	check(t, "body", string(c.body), `{"campaign_id":"cmp_1"}`)
	check(t, "request id", requestid.From(r.Context()), "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")

	check(t, "statusCode", res.StatusCode, http.StatusCreated)
	check(t, "Set-Cookie", string(res.Headers["Set-Cookie"]), `["a=1","b=2"]`)
	check(t, "X-Multi", string(res.Headers["X-Multi"]), `"x,y"`)
	check(t, "X-Request-Id", string(res.Headers["X-Request-Id"]), `"c6af9ac6-7b61-11e6-9a41-93e8deadbeef"`)
	check(t, "body", res.Body, `{"ok":true}`)
	check(t, "isBase64Encoded", res.IsBase64Encoded, false)
}

func TestFunctionURLRequest(t *testing.T) {
	c := &capture{}
	ctx := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{RequestID: "scf-inv-1"})
	res := invoke(t, ctx, &scf.Handler{HTTP: c}, fixture(t, "scf-function-url.json"))
	check(t, "URL.Path", c.r.URL.Path, "/login")
	check(t, "RawQuery", c.r.URL.RawQuery, "a=1&b=2")
	check(t, "RemoteAddr", c.r.RemoteAddr, "111.206.96.145:0")
	check(t, "Host", c.r.Host, "1250000000-abcd1234.ap-guangzhou.tencentscf.com")
	check(t, "request id", requestid.From(c.r.Context()), "scf-inv-1")
	check(t, "body", string(c.body), `{"code":"0a3Xyz"}`)
	check(t, "statusCode", res.StatusCode, 200)
}

func TestBase64BodiesBothWays(t *testing.T) {
	in := []byte{0, 1, 2, 0xfd, 0xfe, 0xff}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00")
	c := &capture{then: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}}
	event, _ := json.Marshal(map[string]any{
		"httpMethod": "PUT", "path": "/upload/a%20b", "headers": map[string]string{"content-type": "application/octet-stream"},
		"body": base64.StdEncoding.EncodeToString(in), "isBase64Encoded": true,
		"requestContext": map[string]string{"requestId": "r1", "sourceIp": "10.0.0.1", "stage": "release"},
	})
	res := invoke(t, context.Background(), &scf.Handler{HTTP: c}, event)
	check(t, "body in", c.body, in)
	check(t, "Path", c.r.URL.Path, "/upload/a b")
	check(t, "EscapedPath", c.r.URL.EscapedPath(), "/upload/a%20b")
	got, err := base64.StdEncoding.DecodeString(res.Body)
	if !res.IsBase64Encoded || err != nil || string(got) != string(png) {
		t.Errorf("binary response: isBase64Encoded=%v body=%q", res.IsBase64Encoded, res.Body)
	}
}

func TestTimerRunsJob(t *testing.T) {
	ran := 0
	h := &scf.Handler{Job: func(context.Context) error { ran++; return nil }}
	out, err := h.Invoke(context.Background(), fixture(t, "scf-timer.json"))
	if err != nil || ran != 1 || string(out) != `{"ok":true}` {
		t.Errorf("Invoke = %s, %v; job ran %d times", out, err, ran)
	}
}

func TestFailedEvents(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	job := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name  string
		h     *scf.Handler
		event []byte
		want  error
	}{
		{"garbage", &scf.Handler{HTTP: ok}, []byte("\xff\xfe garbage"), bridge.ErrUnknownEvent},
		{"array", &scf.Handler{HTTP: ok}, []byte(`[1,2]`), bridge.ErrUnknownEvent},
		{"COS event", &scf.Handler{HTTP: ok}, []byte(`{"Records":[{"cos":{}}]}`), bridge.ErrUnknownEvent},
		{"numeric query", &scf.Handler{HTTP: ok}, []byte(`{"httpMethod":"GET","path":"/","queryString":{"a":1}}`), bridge.ErrUnknownEvent},
		{"HTTP to job-only", &scf.Handler{Job: job}, fixture(t, "scf-function-url.json"), bridge.ErrNoHandler},
		{"timer to no job", &scf.Handler{HTTP: ok}, fixture(t, "scf-timer.json"), bridge.ErrNoJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.h.Invoke(context.Background(), tc.event)
			if !errors.Is(err, tc.want) {
				t.Errorf("Invoke = %s, %v; want %v", out, err, tc.want)
			}
		})
	}
}

// TestClientAddress: RemoteAddr is the address the platform wrote into the
// event. An API Gateway event carries it in requestContext.sourceIp, so its
// headers, the client's own, are not read for it, x-scf-remote-addr
// included; a function-URL event has no requestContext and carries it in
// x-scf-remote-addr (https://cloud.tencent.com/document/product/583/96099).
// X-Forwarded-For, which any client can write, counts nowhere.
func TestClientAddress(t *testing.T) {
	forged := map[string]string{"x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.7"}
	for _, tc := range []struct {
		name           string
		headers        map[string]string
		requestContext map[string]string
		want           string
	}{
		{"API Gateway", map[string]string{"x-scf-remote-addr": "6.6.6.8"}, map[string]string{"sourceIp": "14.17.22.36"}, "14.17.22.36:0"},
		{"API Gateway without sourceIp", map[string]string{"x-scf-remote-addr": "6.6.6.8"}, map[string]string{"requestId": "r1"}, ""},
		{"function URL", map[string]string{"x-scf-remote-addr": "111.206.96.145"}, nil, "111.206.96.145:0"},
		{"function URL, IPv6 with a port", map[string]string{"x-scf-remote-addr": "[2001:db8::5]:443"}, nil, "[2001:db8::5]:0"},
		{"function URL, not an address", map[string]string{"x-scf-remote-addr": "6.6.6.6, 1.2.3.4"}, nil, ""},
		{"function URL without it", map[string]string{}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range forged {
				tc.headers[k] = v
			}
			evt := map[string]any{"httpMethod": "GET", "path": "/me", "headers": tc.headers}
			if tc.requestContext != nil {
				evt["requestContext"] = tc.requestContext
			}
			payload, err := json.Marshal(evt)
			if err != nil {
				t.Fatal(err)
			}
			c := &capture{}
			invoke(t, context.Background(), &scf.Handler{HTTP: c}, payload)
			check(t, "RemoteAddr", c.r.RemoteAddr, tc.want)
		})
	}
}
