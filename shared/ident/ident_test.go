package ident

import (
	"regexp"
	"testing"
)

// TestValidMatchesRegexp checks Valid against the regexps it replaced.
func TestValidMatchesRegexp(t *testing.T) {
	cases := []struct {
		re       string
		min, max int
		extra    string
	}{
		{`^[A-Za-z0-9_-]{1,128}$`, 1, 128, "_-"},
		{`^[0-9A-Za-z_\-|*]{6,32}$`, 6, 32, "_-|*"},
		{`^[0-9A-Za-z_.\-]{1,64}$`, 1, 64, "_.-"},
	}
	inputs := []string{"", "a", "abc-DEF_09", "12345", "123456", "a|b*c_d-e", "a.b", "a b", "中文", "a\x00b",
		"abcdefghijklmnopqrstuvwxyzABCDEFG", "o_qqwTQT82wkOEtQEj-QRSgOaTVY", "x/y", "%41"}
	for _, c := range cases {
		re := regexp.MustCompile(c.re)
		for _, in := range inputs {
			if got, want := Valid(in, c.min, c.max, c.extra), re.MatchString(in); got != want {
				t.Errorf("Valid(%q, %d, %d, %q) = %v; %s says %v", in, c.min, c.max, c.extra, got, c.re, want)
			}
		}
	}
}
