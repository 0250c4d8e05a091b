package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rule allows Limit requests per Window. The zero Rule is off.
type Rule struct {
	Limit  int64
	Window time.Duration
}

// Off reports whether the rule limits nothing.
func (r Rule) Off() bool { return r.Limit <= 0 }

func (r Rule) String() string {
	if r.Off() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Limit, shortDuration(r.Window))
}

// Rules are the limits of one action: per openid and per source IP.
type Rules struct {
	OpenID Rule
	IP     Rule
}

// Off reports whether neither rule limits anything.
func (r Rules) Off() bool { return r.OpenID.Off() && r.IP.Off() }

func (r Rules) String() string {
	return "openid=" + r.OpenID.String() + ",ip=" + r.IP.String()
}

// maxWindow bounds a window: counters live in the store for one window, and
// a day covers every sensible limit.
const maxWindow = 24 * time.Hour

// ParseRules parses the form of the MINIFN_RATE_ variables: a comma-separated
// list of "openid=RULE" and "ip=RULE", where RULE is "N/WINDOW" (WINDOW a Go
// duration of whole seconds, "1m", "30s", "1h"; a bare unit means one of it:
// "20/m") or "off". A bare RULE sets both. Examples: "10/1m",
// "openid=10/1m,ip=300/1m", "off", "openid=5/1m,ip=off". Subjects not named
// are off.
func ParseRules(s string) (Rules, error) {
	var rs Rules
	s = strings.TrimSpace(s)
	if s == "" {
		return rs, errors.New("empty: want N/WINDOW, openid=N/WINDOW,ip=N/WINDOW, or off (unset it for the default)")
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		subject, ruleText, named := strings.Cut(part, "=")
		if !named {
			subject, ruleText = "", part
		}
		subject = strings.ToLower(strings.TrimSpace(subject))
		if named && subject == "" {
			return Rules{}, fmt.Errorf("%q: the subject must be openid or ip", part)
		}
		r, err := parseRule(strings.TrimSpace(ruleText))
		if err != nil {
			return Rules{}, err
		}
		if seen[subject] || (subject == "" && len(seen) > 0) || (subject != "" && seen[""]) {
			return Rules{}, fmt.Errorf("%q: each subject once, and a bare rule alone", part)
		}
		seen[subject] = true
		switch subject {
		case "":
			rs.OpenID, rs.IP = r, r
		case "openid":
			rs.OpenID = r
		case "ip":
			rs.IP = r
		default:
			return Rules{}, fmt.Errorf("%q: the subject must be openid or ip", part)
		}
	}
	return rs, nil
}

// Decode implements envconfig.Decoder.
func (r *Rules) Decode(s string) error {
	rs, err := ParseRules(s)
	if err != nil {
		return err
	}
	*r = rs
	return nil
}

func parseRule(s string) (Rule, error) {
	if strings.EqualFold(s, "off") {
		return Rule{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	if !ok {
		return Rule{}, fmt.Errorf("%q: want N/WINDOW such as 20/1m, or off", s)
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil || limit < 1 {
		return Rule{}, fmt.Errorf("%q: the limit must be a whole number of at least 1", s)
	}
	w = strings.TrimSpace(w)
	if w != "" && (w[0] < '0' || w[0] > '9') {
		w = "1" + w // "20/m" means 20 per minute
	}
	window, err := time.ParseDuration(w)
	if err != nil || window < time.Second || window > maxWindow || window%time.Second != 0 {
		return Rule{}, fmt.Errorf("%q: the window must be a duration of whole seconds from 1s to 24h", s)
	}
	return Rule{Limit: limit, Window: window}, nil
}

// shortDuration prints 1m rather than 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
