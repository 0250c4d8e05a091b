package platform_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/minifn/minifn/shared/platform/internal/proc"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seen mirrors echofn's answer to /echo/….
type seen struct {
	Method        string            `json:"method"`
	Path          string            `json:"path"`
	EscapedPath   string            `json:"escaped_path"`
	RawQuery      string            `json:"raw_query"`
	Query         url.Values        `json:"query"`
	Headers       map[string]string `json:"headers"`
	Cookies       map[string]string `json:"cookies"`
	Body          string            `json:"body"`
	ContentLength int64             `json:"content_length"`
	RemoteIP      string            `json:"remote_ip"`
	Host          string            `json:"host"`
	RequestID     string            `json:"request_id"`
}

// binaryBody is every byte value: not UTF-8, so events carry it base64.
func binaryBody() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// cases is the one assertion table every mode runs.
var cases = []struct {
	name  string
	call  call
	check func(t *testing.T, m mode, a answer)
}{
	{"escaped path and query", call{method: "GET", target: "/echo/a%20b%2Fc?x=1&x=2&y=%E4%B8%AD"},
		func(t *testing.T, m mode, a answer) {
			s := echoed(t, m, a)
			eq(t, "path", s.Path, "/echo/a b/c")
			eq(t, "escaped path", s.EscapedPath, "/echo/a%20b%2Fc")
			eq(t, "query", s.Query, url.Values{"x": {"1", "2"}, "y": {"中"}})
			eq(t, "method", s.Method, "GET")
		}},
	{"base64 request body", call{method: "POST", target: "/echo/upload", body: binaryBody(),
		header: http.Header{"Content-Type": {"application/octet-stream"}}},
		func(t *testing.T, m mode, a answer) {
			s := echoed(t, m, a)
			eq(t, "body", s.Body, base64.StdEncoding.EncodeToString(binaryBody()))
			eq(t, "content length", s.ContentLength, int64(256))
			eq(t, "content type", s.Headers["Content-Type"], "application/octet-stream")
		}},
	{"JSON body", call{method: "PUT", target: "/echo/json", body: []byte(`{"title":"满100减5"}`),
		header: http.Header{"Content-Type": {"application/json"}}},
		func(t *testing.T, m mode, a answer) {
			s := echoed(t, m, a)
			eq(t, "method", s.Method, "PUT")
			eq(t, "body", s.Body, base64.StdEncoding.EncodeToString([]byte(`{"title":"满100减5"}`)))
		}},
	{"cookies in", call{method: "GET", target: "/echo/c", header: http.Header{"Cookie": {"session=abc; theme=dark"}}},
		func(t *testing.T, m mode, a answer) {
			eq(t, "cookies", echoed(t, m, a).Cookies, map[string]string{"session": "abc", "theme": "dark"})
		}},
	{"repeated request header", call{method: "GET", target: "/echo/h", header: http.Header{"X-Multi": {"one", "two"}, "Authorization": {"Bearer tok"}}},
		func(t *testing.T, m mode, a answer) {
			s := echoed(t, m, a)
			eq(t, "X-Multi", s.Headers["X-Multi"], "one,two")
			eq(t, "Authorization", s.Headers["Authorization"], "Bearer tok")
		}},
	{"PNG response", call{method: "GET", target: "/png"},
		func(t *testing.T, m mode, a answer) {
			eq(t, "status", a.status, 200)
			eq(t, "content type", a.header["Content-Type"], "image/png")
			img, err := png.Decode(bytes.NewReader(a.body))
			if err != nil {
				t.Fatalf("body is not a PNG: %v (%q)", err, a.body)
			}
			r, g, b, _ := img.At(0, 0).RGBA()
			eq(t, "pixel (0,0)", [3]uint32{r >> 8, g >> 8, b >> 8}, [3]uint32{255, 0, 0})
			eq(t, "pixel (1,1)", color.RGBAModel.Convert(img.At(1, 1)), color.Color(color.RGBA{255, 255, 255, 255}))
		}},
	{"cookies and repeated header out", call{method: "GET", target: "/cookies"},
		func(t *testing.T, m mode, a answer) {
			eq(t, "status", a.status, 200)
			eq(t, "cookies", a.cookies, []string{"session=abc; Path=/; HttpOnly", "theme=dark; Path=/"})
			eq(t, "X-Multi", a.header["X-Multi"], "one,two")
			eq(t, "body", string(a.body), "cookies set")
		}},
	{"panic is a 500", call{method: "GET", target: "/panic"},
		func(t *testing.T, m mode, a answer) {
			eq(t, "status", a.status, 500)
			eq(t, "body", strings.TrimSpace(string(a.body)), `{"error":{"code":"internal","message":"internal error"}}`)
			eq(t, "X-Request-Id", a.header["X-Request-Id"], a.wantID)
		}},
	{"after the panic", call{method: "GET", target: "/echo/still-here"},
		func(t *testing.T, m mode, a answer) { eq(t, "path", echoed(t, m, a).Path, "/echo/still-here") }},
}

// echoed decodes an /echo answer and checks what every echo shares: status,
// request id, client address and host.
func echoed(t *testing.T, m mode, a answer) seen {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var s seen
	if err := json.Unmarshal(a.body, &s); err != nil {
		t.Fatalf("echo body %q: %v", a.body, err)
	}
	eq(t, "request id", s.RequestID, a.wantID)
	eq(t, "X-Request-Id", a.header["X-Request-Id"], a.wantID)
	eq(t, "remote ip", s.RemoteIP, m.remoteIP)
	if m.host != "" {
		eq(t, "host", s.Host, m.host)
	}
	return s
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestModes(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := m.start(t, nil)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					a, err := f.do(c.call)
					if err != nil {
						t.Fatalf("platform error: %v", err)
					}
					c.check(t, m, a)
				})
			}
			if !f.alive() {
				t.Error("the process died")
			}
		})
	}
}

func TestTimerRunsJob(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "ran")
			f := m.start(t, []string{"ECHOFN_JOB_FILE=" + file})
			for range 2 {
				if err := f.job(); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(file)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "ran ") || len(lines[0]) < len("ran x") {
				t.Errorf("job file %q, %v; want two lines \"ran <request id>\"", b, err)
			}
		})
	}
}

// stillServes checks that the process lives and answers a normal request.
func stillServes(t *testing.T, m mode, f *fn) {
	t.Helper()
	if !f.alive() {
		t.Fatal("the process died")
	}
	a, err := f.do(call{method: "GET", target: "/echo/next"})
	if err != nil {
		t.Fatalf("next request: %v", err)
	}
	eq(t, "next request path", echoed(t, m, a).Path, "/echo/next")
}

func TestTimerToFunctionWithoutJob(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := m.start(t, []string{"ECHOFN_KIND=http"})
			if err := f.job(); err == nil {
				t.Error("a timer event to a function without a job succeeded")
			}
			stillServes(t, m, f)
		})
	}
}

func TestHTTPToJobOnlyFunction(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "ran")
			f := m.start(t, []string{"ECHOFN_KIND=job", "ECHOFN_JOB_FILE=" + file})
			a, err := f.do(call{method: "GET", target: "/echo/x"})
			if m.name == "http" {
				// No platform to report to: the server answers 404 in the contract's shape.
				eq(t, "status", a.status, 404)
				eq(t, "body", strings.TrimSpace(string(a.body)), `{"error":{"code":"not_found","message":"no such route"}}`)
			} else if err == nil {
				t.Errorf("an HTTP event to a job-only function answered %d %s", a.status, a.body)
			}
			if !f.alive() {
				t.Fatal("the process died")
			}
			if err := f.job(); err != nil {
				t.Errorf("job after the HTTP event: %v", err)
			}
		})
	}
}

func TestGarbageEvents(t *testing.T) {
	huge := bytes.Repeat([]byte("\xffgarbage{"), 1<<17) // ~1.1 MiB
	for _, m := range modes() {
		if m.name == "http" {
			continue // no events in HTTP mode
		}
		t.Run(m.name, func(t *testing.T) {
			f := m.start(t, nil)
			for _, event := range [][]byte{[]byte("not json"), []byte(`{"Records":[]}`), []byte(`null`), huge} {
				if _, err := f.raw(event); err == nil {
					t.Errorf("event %.20q succeeded", event)
				}
			}
			stillServes(t, m, f)
		})
	}
}

func TestBasePathOutsideIs404(t *testing.T) {
	m := modes()[1] // scf-apigw, which strips /release
	f := m.start(t, nil)
	for _, path := range []string{"/other/echo/x", "/releasex/echo/x"} {
		evt := []byte(`{"httpMethod":"GET","path":"` + path + `","headers":{},"queryString":{},"requestContext":{"requestId":"r","sourceIp":"10.0.2.14"}}`)
		out, err := f.raw(evt)
		if err != nil {
			t.Fatal(err)
		}
		a := scfAnswer(t, out, "r")
		eq(t, path+" status", a.status, 404)
		eq(t, path+" body", strings.TrimSpace(string(a.body)), `{"error":{"code":"not_found","message":"no such route"}}`)
	}
	stillServes(t, m, f)
}

func TestHTTPModeShutsDownOnSIGTERM(t *testing.T) {
	p, err := proc.Start(bin.echo, []string{"MINIFN_ADDR=127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if _, err := p.WaitOutput(ctxFor(t), listening); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGTERM)
	<-p.Done()
	if p.ExitCode() != 0 {
		t.Errorf("exit code %d after SIGTERM; output %s", p.ExitCode(), p.Output())
	}
}

func TestStartErrorIsOneLine(t *testing.T) {
	for _, env := range [][]string{{"MINIFN_ADDR=256.0.0.1:99999"}, {"MINIFN_BASE_PATH=release/"}, {"MINIFN_CLIENT_IP=x-forwarded-for"}} {
		p, err := proc.Start(bin.echo, env)
		if err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		out := p.Output()
		if p.ExitCode() != 1 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "minifn: ") {
			t.Errorf("%v: exit %d, output %q; want exit 1 and one line", env, p.ExitCode(), out)
		}
	}
}

func TestLambdaBuildRefusesSCF(t *testing.T) {
	p, err := proc.Start(bin.echoLambda, []string{"_LAMBDA_SERVER_PORT=9000"})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if out := p.Output(); p.ExitCode() != 1 || !strings.HasPrefix(out, "minifn: _LAMBDA_SERVER_PORT is set") {
		t.Errorf("exit %d, output %q", p.ExitCode(), out)
	}
}
