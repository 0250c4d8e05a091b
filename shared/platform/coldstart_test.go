package platform_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/platform/lambdatest"
)

// BenchmarkColdStart times exec → first response against the fake Runtime
// API, for the bare aws-lambda-go baseline (hello) and for a function on
// package platform (echo). Each iteration is a fresh process; run it as
//
//	go test ./shared/platform -run x -bench ColdStart -benchtime 20x
//
// and read median-ms (ns/op is the mean, which one slow exec skews).
func BenchmarkColdStart(b *testing.B) {
	event, err := os.ReadFile("../../testdata/events/lambda-function-url.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, binary string }{{"hello", bin.hello}, {"echo", bin.echoLambda}} {
		b.Run(bc.name, func(b *testing.B) {
			info, err := os.Stat(bc.binary)
			if err != nil {
				b.Fatal(err)
			}
			var times []time.Duration
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				d, err := lambdatest.ColdStart(ctx, bc.binary, nil, event)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, d)
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "median-ms")
			b.ReportMetric(float64(info.Size()), "binary-bytes")
		})
	}
}
