package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions"
)

// The variables each function's deploy entry must hold are derived from the
// configuration structs the functions read (their envconfig tags), sorted
// into groups; deployGroups says which groups each function's Build reads.
// A variable added to a struct lands in its group by prefix, or fails
// TestDeployEnvGroups until it is sorted into one (or into leftOut).

// envTags returns the variables v's struct fields read (envconfig tags).
func envTags(v any) []string {
	var names []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		if n := t.Field(i).Tag.Get("envconfig"); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// leftOut are variables the deploy files do not pass, with why: a merchant
// who wants another value adds it to the functions that read it.
var leftOut = map[string]string{
	"MINIFN_WECHAT_API_BASE":   "the emulator's; production uses the default",
	"MINIFN_PAY_API_BASE":      "the emulator's; production uses the default",
	"MINIFN_ADDR":              "HTTP mode only: scf_bootstrap sets it for SCF web functions",
	"MINIFN_SESSION_TTL":       "a tunable with a production default (2h)",
	"MINIFN_ORDER_TTL":         "a tunable with a production default (15m)",
	"MINIFN_POINTS_PER_YUAN":   "a tunable with a default (1)",
	"MINIFN_QRCODE_USER_LIMIT": "a tunable with a default (30)",
	"MINIFN_RATE_LOGIN":        "rate limits have production defaults (docs/ratelimits.md)",
	"MINIFN_RATE_CLAIM":        "rate limits have production defaults (docs/ratelimits.md)",
	"MINIFN_RATE_ORDER":        "rate limits have production defaults (docs/ratelimits.md)",
}

// envGroups sorts every variable of the configuration structs into a group
// (or leftOut); a variable in neither fails the test.
func envGroups(t *testing.T) map[string][]string {
	t.Helper()
	g := map[string][]string{}
	var unsorted []string
	sort := func(names []string, group func(string) string) {
		for _, n := range names {
			if _, ok := leftOut[n]; ok {
				continue
			}
			if k := group(n); k != "" {
				g[k] = append(g[k], n)
			} else {
				unsorted = append(unsorted, n)
			}
		}
	}
	sort(envTags(app.Config{}), func(n string) string {
		switch {
		case n == "MINIFN_STORE" || n == "MINIFN_SESSION_SECRET":
			return "every" // every function opens the store and checks tokens
		case n == "MINIFN_WECHAT_APPID" || n == "MINIFN_WECHAT_SECRET":
			return "wechat" // the config requires both or neither
		case strings.HasPrefix(n, "MINIFN_WECHAT_PUSH_"):
			return "push"
		case n == "MINIFN_ADMIN_TOKEN":
			return "admin"
		case strings.HasPrefix(n, "MINIFN_PAY_"):
			return "pay"
		}
		return ""
	})
	sort(envTags(app.Engage{}), func(n string) string {
		if strings.HasPrefix(n, "MINIFN_SUBSCRIBE_") {
			return "subscribe" // app.Subscribe: me, wx-push, the order functions' paid hook
		}
		return ""
	})
	sort(envTags(app.Shipping{}), func(string) string { return "shipping" })
	sort(envTags(app.Risk{}), func(string) string { return "risk" })
	sort(envTags(app.Wallet{}), func(string) string { return "wallet" })
	sort(envTags(app.RateLimits{}), func(string) string { return "" })
	if len(unsorted) > 0 {
		t.Errorf("variables %v are in no deploy group: add each to a group in envGroups, or to leftOut with a reason", unsorted)
	}
	return g
}

// orderGroups: orderService (shared/functions/orderfn) builds the Pay client,
// the paid hook (app.Subscribe) and the shipping uploads (app.LoadShipping,
// WeChat).
var orderGroups = []string{"wechat", "pay", "subscribe", "shipping"}

// deployGroups says which groups each function's Spec Build reads
// (shared/functions/*/spec.go).
var deployGroups = map[string][]string{
	"admin":         {},
	"campaigns":     {"admin"},
	"coupon-claim":  {"wechat", "risk"}, // a.Risk: getUserRiskRank
	"coupon-redeem": {"admin"},
	"coupons":       {},
	"login":         {"wechat"},
	"me":            {"wechat", "subscribe"}, // phone numbers; a.Subscribe banks credits
	"order-create":  orderGroups,
	"order-expire":  orderGroups,
	"orders":        append([]string{"admin"}, orderGroups...),
	"pay-notify":    orderGroups,
	"points":        {"wechat", "risk", "admin"},
	"products":      {"admin"},
	"qrcode":        {"wechat", "admin"},
	"refund":        append([]string{"admin"}, orderGroups...),
	"wallet":        {"wechat", "admin", "pay", "wallet"}, // top-ups are WeChat Pay payments; MINIFN_WALLET is the switch
	"wx-push":       {"wechat", "push", "subscribe"},      // the subscribe events bank credits; safe mode needs the appid
}

// wantEnv returns the variables function name's deploy entry must hold.
func wantEnv(t *testing.T, groups map[string][]string, name string) []string {
	t.Helper()
	gs, ok := deployGroups[name]
	if !ok {
		t.Fatalf("deployGroups has no entry for %s", name)
	}
	want := slices.Clone(groups["every"])
	for _, g := range gs {
		want = append(want, groups[g]...)
	}
	slices.Sort(want)
	return want
}

func TestDeployEnvGroups(t *testing.T) {
	groups := envGroups(t)
	var names []string
	for _, s := range functions.All() {
		names = append(names, s.Name)
	}
	var listed []string
	for n, gs := range deployGroups {
		listed = append(listed, n)
		for _, g := range gs {
			if len(groups[g]) == 0 {
				t.Errorf("%s: group %s holds no variable", n, g)
			}
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, names) {
		t.Errorf("deployGroups lists %v, functions.All %v", listed, names)
	}
}

// TestTemplateEnv: each template function gets exactly the variables its
// Spec reads (Globals and its own Environment), each from a parameter.
func TestTemplateEnv(t *testing.T) {
	groups := envGroups(t)
	tpl := loadYAML(t, repoFile(t, "template.yaml"))
	global := get(t, tpl, "Globals", "Function", "Environment", "Variables").(map[string]any)
	for _, s := range functions.All() {
		var got []string
		for k := range global {
			got = append(got, k)
		}
		props := get(t, tpl, "Resources", logicalID(s.Name), "Properties").(map[string]any)
		if env, ok := props["Environment"].(map[string]any); ok {
			for k := range get(t, env, "Variables").(map[string]any) {
				got = append(got, k)
			}
		}
		slices.Sort(got)
		if want := wantEnv(t, groups, s.Name); !slices.Equal(got, want) {
			t.Errorf("%s: template.yaml passes %v\n\twant %v (what its Spec reads)", s.Name, got, want)
		}
	}
}

// TestServerlessEnv: the same for serverless.yml, where the HTTP functions
// also get MINIFN_BASE_PATH (the gateway's /release prefix).
func TestServerlessEnv(t *testing.T) {
	groups := envGroups(t)
	sls := loadYAML(t, repoFile(t, "serverless.yml"))
	fns := get(t, sls, "inputs", "functions").(map[string]any)
	for _, s := range functions.All() {
		var got []string
		for _, e := range get(t, fns, s.Name, "environments").([]any) {
			got = append(got, get(t, e, "key").(string))
		}
		slices.Sort(got)
		want := wantEnv(t, groups, s.Name)
		if len(s.Routes) > 0 {
			want = append(want, "MINIFN_BASE_PATH")
			slices.Sort(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: serverless.yml passes %v\n\twant %v (what its Spec reads)", s.Name, got, want)
		}
	}
}
