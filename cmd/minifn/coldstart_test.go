package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions"
	"github.com/minifn/minifn/shared/platform/lambdatest"
)

// lambdaTags are the tags `minifn build --cloud lambda` uses by default.
const lambdaTags = "lambda.norpc,nopostgres"

// BenchmarkColdStart measures, for every function and for a hello-world
// aws-lambda-go function built with the same flags in the same run:
// exec → first response under the test Runtime API (median over b.N fresh
// processes), the Lambda zip size (linux/arm64, as deployed), and the peak
// RSS after the first response. Run it as
//
//	go test ./cmd/minifn -run '^$' -bench ColdStart -benchtime 20x
//
// Each iteration of a function's benchmark starts hello and the function
// back to back (in alternating order), so that its time-ratio compares
// processes started within milliseconds of each other: this machine's
// speed drifts by more than the differences measured over a run of minutes.
// ready-ms is exec → the function's first poll of the Runtime API (the end
// of its start-up, before the event).
//
// The timing binaries are built for this machine (linux/amd64 here), since
// arm64 ones would not run; the sizes are of the arm64 builds.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	event, err := os.ReadFile(filepath.Join(root, "testdata/events/lambda-function-url.json"))
	if err != nil {
		b.Fatal(err)
	}
	env := coldStartEnv(b)
	hello := coldTarget{name: "hello", pkg: "./shared/platform/internal/hellofn"}
	hello.build(b, root, dir)
	b.Run("hello", func(b *testing.B) {
		var m coldRuns
		for b.Loop() {
			m.add(coldStart(b, hello.exe, env, event, false))
		}
		m.report(b, hello, hello, m)
	})
	for _, s := range functions.All() {
		t := coldTarget{name: s.Name, pkg: "./functions/" + s.Name, timerOnly: len(s.Routes) == 0}
		t.build(b, root, dir)
		b.Run(t.name, func(b *testing.B) {
			var m, base coldRuns
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					base.add(coldStart(b, hello.exe, env, event, false))
				}
				m.add(coldStart(b, t.exe, env, event, t.timerOnly))
				if i%2 == 1 {
					base.add(coldStart(b, hello.exe, env, event, false))
				}
				i++
			}
			m.report(b, t, hello, base)
		})
	}
}

// coldTarget is one binary of the benchmark.
type coldTarget struct {
	name, pkg string
	timerOnly bool // answers an HTTP event with a platform error: still its first response
	exe       string
	zipped    int // bytes of its arm64 deployment zip
}

func (t *coldTarget) build(b *testing.B, root, dir string) {
	t.exe = buildLambda(b, root, t.pkg, filepath.Join(dir, t.name), "")
	t.zipped = zipSize(b, buildLambda(b, root, t.pkg, filepath.Join(dir, t.name+"-arm64"), "arm64"))
}

// coldRuns collects the runs of one binary.
type coldRuns struct {
	total, ready []time.Duration
	rss          int64
}

func (m *coldRuns) add(r coldRun) {
	m.total = append(m.total, r.total)
	m.ready = append(m.ready, r.ready)
	m.rss = max(m.rss, r.rss)
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// report writes t's metrics, its time against base (hello's runs paired
// with t's) and its size against hello's.
func (m *coldRuns) report(b *testing.B, t, hello coldTarget, base coldRuns) {
	b.ReportMetric(median(m.total), "median-ms")
	b.ReportMetric(median(m.ready), "ready-ms")
	b.ReportMetric(median(m.total)/median(base.total), "time-ratio")
	b.ReportMetric(float64(t.zipped), "zip-bytes")
	b.ReportMetric(float64(t.zipped)/float64(hello.zipped), "size-ratio")
	b.ReportMetric(float64(m.rss)/(1<<20), "peak-rss-MB")
}

// coldRun is one fresh process's start.
type coldRun struct {
	total, ready time.Duration // exec → first response, exec → first poll
	rss          int64         // peak RSS at the first response
}

// coldStart runs one fresh process to its first response.
func coldStart(b *testing.B, exe string, env []string, event []byte, errorOK bool) coldRun {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	f, err := lambdatest.Start(exe, env)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, errPayload, err := f.Invoke(ctx, event); err != nil || (errPayload != nil && !errorOK) {
		b.Fatalf("%s: %v %s\n%s", exe, err, errPayload, f.Output())
	}
	r := coldRun{total: time.Since(start), ready: f.FirstPoll().Sub(start)}
	if r.rss, err = f.PeakRSS(); err != nil {
		b.Fatal(err)
	}
	return r
}

// buildLambda builds pkg with the contract's Lambda flags; arch "" is this
// machine's.
func buildLambda(b testing.TB, root, pkg, out, arch string) string {
	cmd := exec.Command("go", "build", "-tags", lambdaTags, "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if arch != "" {
		cmd.Env = append(cmd.Env, "GOARCH="+arch)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// zipSize is the size of a deployment zip holding exe as bootstrap.
func zipSize(b *testing.B, exe string) int {
	data, err := os.ReadFile(exe)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

// coldStartEnv is a complete production-like configuration, so that every
// function's Build succeeds: DynamoDB as the store (never reached: the event
// is answered before any store call), WeChat and WeChat Pay credentials with
// freshly generated throwaway keys, given as PEM text as template.yaml
// passes them. Every function gets all of it, although a deployed one gets
// only the settings it reads (docs/deploy.md): the figures are an upper bound.
func coldStartEnv(b testing.TB) []string {
	pemText := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	merchant, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	platform, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	priv, _ := x509.MarshalPKCS8PrivateKey(merchant)
	pub, _ := x509.MarshalPKIXPublicKey(&platform.PublicKey)
	return []string{
		"MINIFN_STORE=dynamodb:minifn", "AWS_REGION=ap-east-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=example", "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:9",
		"MINIFN_WECHAT_APPID=wx0123456789abcdef", "MINIFN_WECHAT_SECRET=0123456789abcdef0123456789abcdef",
		"MINIFN_WECHAT_API_BASE=http://127.0.0.1:9",
		"MINIFN_WECHAT_PUSH_TOKEN=push-token-for-the-benchmark", "MINIFN_WECHAT_PUSH_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		"MINIFN_SESSION_SECRET=" + fmt.Sprintf("%064x", 1), "MINIFN_ADMIN_TOKEN=admin-token-for-the-benchmark",
		"MINIFN_PAY_MCHID=1900000109", "MINIFN_PAY_CERT_SERIAL=0123456789ABCDEF",
		"MINIFN_PAY_PRIVATE_KEY=" + pemText("PRIVATE KEY", priv),
		"MINIFN_PAY_APIV3_KEY=0123456789abcdef0123456789abcdef",
		"MINIFN_PAY_PUBLIC_KEY_ID=PUB_KEY_ID_0000000000000000000000000000",
		"MINIFN_PAY_PUBLIC_KEY=" + pemText("PUBLIC KEY", pub),
		"MINIFN_PAY_API_BASE=http://127.0.0.1:9", "MINIFN_PAY_NOTIFY_URL=https://example.com/pay/notify",
	}
}
