package app_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"

	"github.com/minifn/minifn/shared/app"
)

// TestRiskVariables: the contract's MINIFN_RISK_RANK_MAX, and the
// documented addition MINIFN_RISK_FAIL, spelled whole.
func TestRiskVariables(t *testing.T) {
	var buf bytes.Buffer
	if err := envconfig.Usagef("", &app.Risk{}, &buf, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(buf.String()), " "); got != "MINIFN_RISK_RANK_MAX MINIFN_RISK_FAIL" {
		t.Fatalf("variables %s", got)
	}
}

// loadRisk reads the configuration from the environment, as Main does: the
// tests that use it test the environment on purpose.
func loadRisk(t *testing.T) (app.Risk, error) {
	t.Helper()
	t.Setenv("MINIFN_SESSION_SECRET", goodSecret)
	c, err := app.LoadConfig()
	if err == nil {
		err = c.Validate()
	}
	return c.Risk, err
}

// TestLoadRisk: MINIFN_RISK_RANK_MAX and MINIFN_RISK_FAIL as the
// environment gives them (unset, set, malformed). (A test of the
// environment on purpose.)
func TestLoadRisk(t *testing.T) {
	for _, v := range []string{"MINIFN_RISK_RANK_MAX", "MINIFN_RISK_FAIL"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	c, err := loadRisk(t)
	if err != nil || c.RankMax != "" || c.Fail != "open" {
		t.Fatalf("defaults %+v %v: want off, fail open", c, err)
	}
	a := &app.App{} // no WeChat: fine while risk control is off
	if rk, err := a.Risk(); rk != nil || err != nil {
		t.Fatalf("off: %v %v", rk, err)
	}
	for _, v := range []string{"0", "4"} {
		t.Setenv("MINIFN_RISK_RANK_MAX", v)
		if _, err := loadRisk(t); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	a.Config.Risk = app.Risk{RankMax: "4", Fail: "open"}
	if _, err := a.Risk(); err == nil || !strings.Contains(err.Error(), "MINIFN_WECHAT_APPID") {
		t.Errorf("on without WeChat: %v", err)
	}
	for _, v := range []string{"-1", "5", "two", " 1"} {
		t.Setenv("MINIFN_RISK_RANK_MAX", v)
		if _, err := loadRisk(t); err == nil || !strings.HasPrefix(err.Error(), "MINIFN_RISK_RANK_MAX ") {
			t.Errorf("%q: %v", v, err)
		}
	}
	t.Setenv("MINIFN_RISK_RANK_MAX", "1")
	t.Setenv("MINIFN_RISK_FAIL", "Closed")
	if _, err := loadRisk(t); err == nil || !strings.HasPrefix(err.Error(), "MINIFN_RISK_FAIL ") {
		t.Errorf("Closed: %v", err)
	}
}
