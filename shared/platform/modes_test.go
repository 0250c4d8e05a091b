package platform_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/minifn/minifn/shared/platform/internal/proc"
	"github.com/minifn/minifn/shared/platform/lambdatest"
	"github.com/minifn/minifn/shared/platform/scftest"
)

// call is a logical HTTP request; each mode turns it into its own event.
type call struct {
	method, target string // target is path?query, percent-encoded as a client sends it
	header         http.Header
	body           []byte
}

// answer is a logical HTTP response, read back from each mode's answer.
type answer struct {
	status  int
	header  map[string]string // repeated values joined with ","; no Set-Cookie
	cookies []string          // Set-Cookie values
	body    []byte
	wantID  string // the request id the platform gave this request
}

// fn is one running binary, driven through one mode.
type fn struct {
	do    func(c call) (answer, error)       // error: the platform reported a failed invocation
	job   func() error                       // fire the timer (POST /_minifn/job in HTTP mode)
	raw   func(event []byte) ([]byte, error) // send a raw event; nil in HTTP mode
	alive func() bool
}

// mode starts the echofn binary (with extra env) for one platform.
type mode struct {
	name     string
	remoteIP string // the client address the mode's events carry
	host     string
	start    func(t *testing.T, env []string) *fn
}

func modes() []mode {
	return []mode{
		{"lambda", "203.0.113.7", "fn123.lambda-url.ap-east-1.on.aws", startLambda},
		{"scf-apigw", "10.0.2.14", "service-abc-125.gz.apigw.tencentcs.com", startSCF(scfAPIGateway)},
		{"scf-url", "111.206.96.145", "125-abc.ap-guangzhou.tencentscf.com", startSCF(scfFunctionURL)},
		{"http", "127.0.0.1", "", startHTTP},
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// --- Lambda: a real binary polling lambdatest's fake Runtime API.

func startLambda(t *testing.T, env []string) *fn {
	f, err := lambdatest.Start(bin.echoLambda, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	ctx := ctxFor(t)
	send := func(event []byte) ([]byte, error) {
		res, errPayload, err := f.Invoke(ctx, event)
		if err != nil {
			t.Fatalf("lambda invoke: %v", err)
		}
		if errPayload != nil {
			return nil, fmt.Errorf("lambda /error: %s", errPayload)
		}
		return res, nil
	}
	n := 0
	return &fn{
		do: func(c call) (answer, error) {
			n++
			id := fmt.Sprintf("lambda-req-%d", n)
			out, err := send(lambdaEvent(t, c, id))
			if err != nil {
				return answer{}, err
			}
			var res events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("lambda response %s: %v", out, err)
			}
			a := answer{status: res.StatusCode, header: res.Headers, cookies: res.Cookies, body: decodeBody(t, res.Body, res.IsBase64Encoded), wantID: id}
			return a, nil
		},
		job: func() error {
			_, err := send(readFixture(t, "eventbridge-scheduled.json"))
			return err
		},
		raw:   send,
		alive: f.Alive,
	}
}

func lambdaEvent(t *testing.T, c call, id string) []byte {
	u := parseTarget(t, c.target)
	evt := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: u.EscapedPath(), RawQueryString: u.RawQuery,
		Headers: map[string]string{"host": "fn123.lambda-url.ap-east-1.on.aws"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: id, DomainName: "fn123.lambda-url.ap-east-1.on.aws", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: c.method, Path: u.Path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"},
		},
	}
	for k, vs := range c.header {
		if k == "Cookie" {
			evt.Cookies = strings.Split(strings.Join(vs, "; "), "; ")
			continue
		}
		evt.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	evt.Body, evt.IsBase64Encoded = encodeBody(c.body)
	b, err := json.Marshal(evt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --- SCF: a real binary serving net/rpc, called with scf-go-lib's messages.

type scfKind int

const (
	scfAPIGateway scfKind = iota
	scfFunctionURL
)

// scfBase is the API Gateway path prefix the scf-apigw mode puts in front of
// every path and the binary strips (MINIFN_BASE_PATH).
const scfBase = "/release"

func startSCF(kind scfKind) func(t *testing.T, env []string) *fn {
	return func(t *testing.T, env []string) *fn {
		ctx := ctxFor(t)
		if kind == scfAPIGateway {
			env = append(env, "MINIFN_BASE_PATH="+scfBase)
		}
		f, err := scftest.Start(ctx, bin.echo, env)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		send := func(event []byte) ([]byte, error) {
			out, fnErr, err := f.Invoke(ctx, event)
			if err != nil {
				t.Fatalf("scf invoke: %v", err)
			}
			if fnErr != nil {
				return nil, fmt.Errorf("scf error %s: %s", fnErr.Type, fnErr.Message)
			}
			return out, nil
		}
		n := 0
		return &fn{
			do: func(c call) (answer, error) {
				n++
				id := fmt.Sprintf("apigw-req-%d", n)
				out, err := send(scfEvent(t, kind, c, id))
				if err != nil {
					return answer{}, err
				}
				if kind == scfFunctionURL {
					id = f.LastRequestID()
				}
				return scfAnswer(t, out, id), nil
			},
			job: func() error {
				_, err := send(readFixture(t, "scf-timer.json"))
				return err
			},
			raw:   send,
			alive: f.Alive,
		}
	}
}

func scfEvent(t *testing.T, kind scfKind, c call, id string) []byte {
	u := parseTarget(t, c.target)
	query := map[string]any{}
	for k, vs := range u.Query() {
		if len(vs) == 1 {
			query[k] = vs[0]
		} else {
			query[k] = vs
		}
	}
	headers := map[string]string{}
	for k, vs := range c.header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	body, b64 := encodeBody(c.body)
	evt := map[string]any{"httpMethod": c.method, "queryString": query, "headers": headers, "body": body, "isBase64Encoded": b64}
	switch kind {
	case scfAPIGateway:
		headers["host"] = "service-abc-125.gz.apigw.tencentcs.com"
		evt["path"] = scfBase + u.EscapedPath()
		evt["requestContext"] = map[string]any{
			"serviceId": "service-abc", "path": scfBase, "httpMethod": "ANY", "requestId": id,
			"identity": map[string]any{}, "sourceIp": "10.0.2.14", "stage": "release",
		}
	case scfFunctionURL:
		headers["host"] = "125-abc.ap-guangzhou.tencentscf.com"
		headers["x-scf-remote-addr"] = "111.206.96.145"
		evt["path"] = u.EscapedPath()
	}
	b, err := json.Marshal(evt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func scfAnswer(t *testing.T, out []byte, id string) answer {
	var res struct {
		IsBase64Encoded bool                       `json:"isBase64Encoded"`
		StatusCode      int                        `json:"statusCode"`
		Headers         map[string]json.RawMessage `json:"headers"`
		Body            string                     `json:"body"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("scf response %s: %v", out, err)
	}
	a := answer{status: res.StatusCode, header: map[string]string{}, body: decodeBody(t, res.Body, res.IsBase64Encoded), wantID: id}
	for k, raw := range res.Headers {
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			many = []string{one}
		case json.Unmarshal(raw, &many) == nil:
		default:
			t.Fatalf("header %s: %s", k, raw)
		}
		if k == "Set-Cookie" {
			a.cookies = append(a.cookies, many...)
		} else {
			a.header[k] = strings.Join(many, ",")
		}
	}
	return a
}

// --- HTTP: a real binary serving HTTP on a loopback port.

var listening = regexp.MustCompile(`minifn listening addr=(\S+)`)

func startHTTP(t *testing.T, env []string) *fn {
	p, err := proc.Start(bin.echo, append(env, "MINIFN_ADDR=127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	ctx := ctxFor(t)
	addr, err := p.WaitOutput(ctx, listening)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	n := 0
	do := func(c call) (answer, error) {
		n++
		id := fmt.Sprintf("http-req-%d", n)
		req, err := http.NewRequestWithContext(ctx, c.method, "http://"+addr+c.target, strings.NewReader(string(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range c.header {
			req.Header[k] = vs
		}
		req.Header.Set("X-Request-Id", id)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("http: %v", err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		a := answer{status: res.StatusCode, header: map[string]string{}, cookies: res.Header.Values("Set-Cookie"), body: body, wantID: id}
		for k, vs := range res.Header {
			if k != "Set-Cookie" {
				a.header[k] = strings.Join(vs, ",")
			}
		}
		return a, nil
	}
	return &fn{
		do: do,
		job: func() error {
			a, _ := do(call{method: "POST", target: "/_minifn/job"})
			if a.status != http.StatusOK {
				return fmt.Errorf("POST /_minifn/job: %d %s", a.status, a.body)
			}
			return nil
		},
		alive: p.Alive,
	}
}

// --- shared helpers

func parseTarget(t *testing.T, target string) *url.URL {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func encodeBody(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

func decodeBody(t *testing.T, s string, b64 bool) []byte {
	if !b64 {
		return []byte(s)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 body: %v", err)
	}
	return b
}
