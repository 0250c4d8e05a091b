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

	"github.com/minifn/minifn/shared/catalog"
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
//	go test ./cmd/minifn -run x -bench ColdStart -benchtime 20x
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
	env := coldStartEnv(b, dir)
	type target struct {
		name, pkg string
		timerOnly bool // answers an HTTP event with a platform error: still its first response
	}
	targets := []target{{"hello", "./shared/platform/internal/hellofn", false}}
	for _, s := range catalog.All() {
		targets = append(targets, target{s.Name, "./functions/" + s.Name, len(s.Routes) == 0})
	}
	var hello struct{ median, zip float64 }
	for _, t := range targets {
		exe := buildLambda(b, root, t.pkg, filepath.Join(dir, t.name), "")
		zipped := zipSize(b, buildLambda(b, root, t.pkg, filepath.Join(dir, t.name+"-arm64"), "arm64"))
		b.Run(t.name, func(b *testing.B) {
			var times []time.Duration
			var rss int64
			for b.Loop() {
				d, peak := coldStart(b, exe, env, event, t.timerOnly)
				times = append(times, d)
				rss = max(rss, peak)
			}
			slices.Sort(times)
			median := float64(times[len(times)/2]) / float64(time.Millisecond)
			if t.name == "hello" {
				hello.median, hello.zip = median, float64(zipped)
			}
			b.ReportMetric(median, "median-ms")
			b.ReportMetric(median/hello.median, "time-ratio")
			b.ReportMetric(float64(zipped), "zip-bytes")
			b.ReportMetric(float64(zipped)/hello.zip, "size-ratio")
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
		})
	}
}

// coldStart runs one fresh process to its first response; it returns the
// time from exec and the peak RSS at that moment.
func coldStart(b *testing.B, exe string, env []string, event []byte, errorOK bool) (time.Duration, int64) {
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
	d := time.Since(start)
	rss, err := f.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	return d, rss
}

// buildLambda builds pkg with the contract's Lambda flags; arch "" is this
// machine's.
func buildLambda(b *testing.B, root, pkg, out, arch string) string {
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
// freshly generated throwaway keys.
func coldStartEnv(b *testing.B, dir string) []string {
	keyFile := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			b.Fatal(err)
		}
		return p
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
		"MINIFN_SESSION_SECRET=" + fmt.Sprintf("%064x", 1), "MINIFN_ADMIN_TOKEN=admin-token-for-the-benchmark",
		"MINIFN_PAY_MCHID=1900000109", "MINIFN_PAY_CERT_SERIAL=0123456789ABCDEF",
		"MINIFN_PAY_PRIVATE_KEY=" + keyFile("merchant.pem", "PRIVATE KEY", priv),
		"MINIFN_PAY_APIV3_KEY=0123456789abcdef0123456789abcdef",
		"MINIFN_PAY_PUBLIC_KEY_ID=PUB_KEY_ID_0000000000000000000000000000",
		"MINIFN_PAY_PUBLIC_KEY=" + keyFile("wechatpay.pem", "PUBLIC KEY", pub),
		"MINIFN_PAY_API_BASE=http://127.0.0.1:9", "MINIFN_PAY_NOTIFY_URL=https://example.com/pay/notify",
	}
}
