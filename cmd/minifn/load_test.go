package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestLoad runs `minifn load` briefly against its own dev server: every
// route of the mix is driven and reported, the notifies arrive, and
// nothing answers 5xx. Its dev server turns the per-IP limits off itself
// (startLoadDev), in its Config.
func TestLoad(t *testing.T) {
	cleanEnv(t)
	var out bytes.Buffer
	if err := loadCmd(context.Background(), []string{"--duration", "2s", "--concurrency", "2"}, &out); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	report := out.String()
	for _, route := range []string{"POST /login", "GET /products", "GET /campaigns", "POST /coupons/claim", "POST /orders", "GET /orders/{id}"} {
		row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(route) + `\s+([1-9][0-9]*)\s`)
		if !row.MatchString(report) {
			t.Errorf("no requests reported for %s:\n%s", route, report)
		}
	}
	if !regexp.MustCompile(`POST /pay/notify → 204: [1-9]`).MatchString(report) {
		t.Errorf("no notify was acknowledged:\n%s", report)
	}
	if !strings.Contains(report, "errors (5xx or failed requests): 0") {
		t.Errorf("errors in the run:\n%s", report)
	}
}

func TestLoadUsage(t *testing.T) {
	for _, args := range [][]string{{"--concurrency", "0"}, {"--url", "http://127.0.0.1:1"}, {"extra"}} {
		// The environment on purpose: --admin defaults to MINIFN_ADMIN_TOKEN,
		// which the developer's shell must not provide here.
		t.Setenv("MINIFN_ADMIN_TOKEN", "")
		if err := loadCmd(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("load %v: no error", args)
		}
	}
}
