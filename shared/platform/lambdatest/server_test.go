package lambdatest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/platform/lambdatest"
)

const api = "/2018-06-01/runtime"

func newServer(t *testing.T) *lambdatest.Server {
	s, err := lambdatest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func post(t *testing.T, s *lambdatest.Server, path, body string) int {
	t.Helper()
	res, err := http.Post("http://"+s.Addr()+api+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// poll plays a runtime by hand: one GET next, then a POST of answer to
// /response or /error.
func poll(t *testing.T, s *lambdatest.Server, endpoint, answer string) (event string, header http.Header) {
	t.Helper()
	res, err := http.Get("http://" + s.Addr() + api + "/invocation/next")
	if err != nil {
		t.Error(err)
		return "", nil
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if code := post(t, s, "/invocation/"+res.Header.Get("Lambda-Runtime-Aws-Request-Id")+"/"+endpoint, answer); code != http.StatusAccepted {
		t.Errorf("POST %s: %d", endpoint, code)
	}
	return string(b), res.Header
}

func TestInvokeRoundTrip(t *testing.T) {
	s := newServer(t)
	for _, endpoint := range []string{"response", "error"} {
		done := make(chan struct{})
		var event string
		var header http.Header
		go func() {
			defer close(done)
			event, header = poll(t, s, endpoint, `{"answer":1}`)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, errPayload, err := s.Invoke(ctx, []byte(`{"event":1}`))
		cancel()
		<-done
		got := res
		if endpoint == "error" {
			got = errPayload
		}
		if err != nil || string(got) != `{"answer":1}` || event != `{"event":1}` {
			t.Errorf("%s: Invoke = %q, %q, %v; runtime saw %q", endpoint, res, errPayload, err, event)
		}
		ms, _ := strconv.ParseInt(header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
		if header.Get("Lambda-Runtime-Aws-Request-Id") == "" || header.Get("Lambda-Runtime-Invoked-Function-Arn") == "" ||
			header.Get("Lambda-Runtime-Trace-Id") == "" || ms <= time.Now().UnixMilli() {
			t.Errorf("%s: invocation headers %v", endpoint, header)
		}
	}
}

func TestUnknownRequestID(t *testing.T) {
	s := newServer(t)
	if code := post(t, s, "/invocation/nope/response", "{}"); code != http.StatusBadRequest {
		t.Errorf("response for an unknown id: %d, want 400", code)
	}
}

func TestInitErrorFailsInvoke(t *testing.T) {
	s := newServer(t)
	if code := post(t, s, "/init/error", `{"errorMessage":"bad config","errorType":"Runtime.Init"}`); code != http.StatusAccepted {
		t.Fatalf("init/error: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := s.Invoke(ctx, []byte(`{}`)); !errors.Is(err, lambdatest.ErrInit) || !strings.Contains(err.Error(), "bad config") {
		t.Errorf("Invoke after init error: %v", err)
	}
}
