package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/functions/accountfn"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// platformResponse is the part of a Lambda function-URL / SCF API-gateway
// response the tests read.
type platformResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

func (p platformResponse) json(t *testing.T) map[string]any {
	t.Helper()
	b := []byte(p.Body)
	if p.IsBase64Encoded {
		var err error
		if b, err = base64.StdEncoding.DecodeString(p.Body); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

func runInvoke(t *testing.T, args ...string) (platformResponse, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append([]string{"invoke"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("minifn invoke %v: exit %d: %s", args, code, errOut.String())
	}
	var res platformResponse
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not a platform response: %q", out.String())
	}
	return res, out.String()
}

func TestInvokeFixtures(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	for _, kind := range []string{"lambda", "scf"} {
		t.Run(kind, func(t *testing.T) {
			res, _ := runInvoke(t, "me", "--event", "testdata/me."+kind+".json", "--platform", kind, "--dir", dir)
			body := res.json(t)
			if e, _ := body["error"].(map[string]any); res.StatusCode != 401 || e["code"] != "unauthenticated" {
				t.Fatalf("GET /me without a token: %d %v", res.StatusCode, body)
			}
		})
	}
	// A code the emulator never issued: the function ran (the emulator
	// answered WeChat's 40029), and the platform's response carries the
	// contract's error.
	for _, kind := range []string{"lambda", "scf"} {
		res, _ := runInvoke(t, "login", "--event", "testdata/login."+kind+".json", "--platform", kind, "--dir", dir)
		e, _ := res.json(t)["error"].(map[string]any)
		if res.StatusCode != 400 || e["code"] != "invalid_code" || e["message"] == "" {
			t.Fatalf("%s: login with an unknown code: %d %s", kind, res.StatusCode, res.Body)
		}
		if ct := res.Headers["Content-Type"] + res.Headers["content-type"]; !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s: content type %q", kind, ct)
		}
	}
}

// TestInvokeLogin logs in through invoke with a code minted by an emulator
// the configuration points at, as a developer with `minifn emulator` would.
func TestInvokeLogin(t *testing.T) {
	cleanEnv(t)
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu.Handler())
	defer srv.Close()
	cfg, err := devConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.WechatAppid, cfg.WechatSecret, cfg.WechatAPIBase = emulator.DevAppID, emulator.DevSecret, srv.URL
	code, openid := emu.MintCode(emulator.DevAppID, "dora")
	evt, err := os.ReadFile("testdata/login.lambda.json")
	if err != nil {
		t.Fatal(err)
	}
	evt = bytes.Replace(evt, []byte("0a1LoginCodeFromWxLogin00000000"), []byte(code), 1)
	var out bytes.Buffer
	if err := invoke(context.Background(), cfg, accountfn.Login, "lambda", evt, &out); err != nil {
		t.Fatal(err)
	}
	var res platformResponse
	json.Unmarshal(out.Bytes(), &res)
	body := res.json(t)
	if res.StatusCode != 200 || body["openid"] != openid || body["token"] == "" {
		t.Fatalf("login: %d %s", res.StatusCode, res.Body)
	}
	if !strings.HasPrefix(res.Headers["Content-Type"]+res.Headers["content-type"], "application/json") {
		t.Fatalf("headers %v", res.Headers)
	}
}

func TestInvokeErrors(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	cases := map[string][]string{
		"unknown function": {"invoke", "nope", "--event", "testdata/me.lambda.json", "--dir", dir},
		"no event":         {"invoke", "me", "--dir", dir},
		"bad platform":     {"invoke", "me", "--event", "testdata/me.lambda.json", "--platform", "gcp", "--dir", dir},
		"missing file":     {"invoke", "me", "--event", "testdata/none.json", "--dir", dir},
		"unknown command":  {"deploy"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), args, &out, &errOut); code == 0 || errOut.Len() == 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
		})
	}
}

// TestInvokeWhileDevRuns runs the README's invoke beside a running `minifn
// dev` on the same directory: bbolt's file lock is dev's, so invoke says so
// (and what to do) and exits non-zero instead of printing a 503.
func TestInvokeWhileDevRuns(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	startDev(t, dir)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"invoke", "login", "--event", "testdata/login.lambda.json", "--platform", "lambda", "--dir", dir}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "minifn dev") || !strings.Contains(errOut.String(), "--dir") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	// Another directory works while dev runs.
	res, _ := runInvoke(t, "me", "--event", "testdata/me.lambda.json", "--dir", t.TempDir())
	if res.StatusCode != 401 {
		t.Fatalf("GET /me in another dir: %d %s", res.StatusCode, res.Body)
	}
}

// TestInvoke5xxExitsNonZero: a function that answers 5xx (here 503
// store_unavailable, the store being unreachable) makes invoke exit 1,
// with the platform's response still printed.
func TestInvoke5xxExitsNonZero(t *testing.T) {
	cleanEnv(t)
	// The environment on purpose: this runs the command line (run), whose
	// configuration is the environment read by LoadConfig.
	t.Setenv("MINIFN_STORE", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	// GET /campaigns: public, and read from the store.
	evt, err := os.ReadFile("testdata/me.lambda.json")
	if err != nil {
		t.Fatal(err)
	}
	evt = bytes.ReplaceAll(evt, []byte(`"/me"`), []byte(`"/campaigns"`))
	file := filepath.Join(t.TempDir(), "campaigns.json")
	if err := os.WriteFile(file, evt, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"invoke", "campaigns", "--event", file, "--dir", t.TempDir()}, &out, &errOut)
	var res platformResponse
	json.Unmarshal(out.Bytes(), &res)
	if code != 1 || res.StatusCode != 503 || !strings.Contains(errOut.String(), "503") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
