package ratelimit_test

import (
	"testing"
	"time"

	"github.com/minifn/minifn/shared/ratelimit"
)

func TestParseRules(t *testing.T) {
	r := func(n int64, w time.Duration) ratelimit.Rule { return ratelimit.Rule{Limit: n, Window: w} }
	good := map[string]ratelimit.Rules{
		"20/1m":                     {OpenID: r(20, time.Minute), IP: r(20, time.Minute)},
		"20/m":                      {OpenID: r(20, time.Minute), IP: r(20, time.Minute)},
		"openid=10/1m,ip=300/1m":    {OpenID: r(10, time.Minute), IP: r(300, time.Minute)},
		" ip = 5/30s , openid=1/1h": {OpenID: r(1, time.Hour), IP: r(5, 30*time.Second)},
		"openid=5/1m":               {OpenID: r(5, time.Minute)},
		"openid=5/1m,ip=off":        {OpenID: r(5, time.Minute)},
		"off":                       {},
		"OFF":                       {},
	}
	for in, want := range good {
		got, err := ratelimit.ParseRules(in)
		if err != nil || got != want {
			t.Errorf("ParseRules(%q) = %v, %v; want %v", in, got, err, want)
		}
		if err == nil {
			again, err := ratelimit.ParseRules(got.String())
			if err != nil || again != got {
				t.Errorf("round trip of %q via %q = %v, %v", in, got.String(), again, err)
			}
		}
	}
	for _, in := range []string{"", "20", "0/1m", "-1/1m", "x/1m", "20/0s", "20/500ms", "20/1.5s", "20/48h",
		"20/fortnight", "user=20/1m", "openid=1/1m,openid=2/1m", "20/1m,ip=3/1m", "openid=", "=20/1m"} {
		if got, err := ratelimit.ParseRules(in); err == nil {
			t.Errorf("ParseRules(%q) = %v; want an error", in, got)
		}
	}
}

func TestRulesString(t *testing.T) {
	rs, _ := ratelimit.ParseRules("openid=10/1m,ip=300/1h")
	if got := rs.String(); got != "openid=10/1m,ip=300/1h" {
		t.Fatalf("String = %q", got)
	}
}
