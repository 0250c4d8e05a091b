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

// envVar is one variable of app.Config: its name, and the embedded section
// whose field reads it ("" for Config's own fields).
type envVar struct{ name, section string }

// envTags returns the variables the struct type t reads (envconfig tags),
// looking inside embedded sections (app.RateLimits, app.Engage, …) as
// envconfig does: a variable added to a section, or a new section, is
// listed here, and must then find a deploy group (envGroups).
func envTags(t reflect.Type, section string) []envVar {
	var vars []envVar
	for i := range t.NumField() {
		f := t.Field(i)
		n := f.Tag.Get("envconfig")
		switch {
		case n != "":
			vars = append(vars, envVar{n, section})
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			vars = append(vars, envTags(f.Type, f.Name)...)
		case f.IsExported():
			// envconfig would read it under a name derived from the field's:
			// give it a tag spelling the whole name (CONTRACT.md).
			vars = append(vars, envVar{"untagged field " + t.Name() + "." + f.Name, section})
		}
	}
	return vars
}

// leftOut are variables the deploy files do not pass, with why: a merchant
// who wants another value adds it to the functions that read it.
var leftOut = map[string]string{
	"MINIFN_WECHAT_API_BASE":       "the emulator's; production uses the default",
	"MINIFN_PAY_API_BASE":          "the emulator's; production uses the default",
	"MINIFN_ADDR":                  "HTTP mode only: scf_bootstrap sets it for SCF web functions",
	"MINIFN_SESSION_TTL":           "a tunable with a production default (2h)",
	"MINIFN_ORDER_TTL":             "a tunable with a production default (15m)",
	"MINIFN_POINTS_PER_YUAN":       "a tunable with a default (1)",
	"MINIFN_QRCODE_USER_LIMIT":     "a tunable with a default (30)",
	"MINIFN_RATE_LOGIN":            "rate limits have production defaults (docs/ratelimits.md)",
	"MINIFN_RATE_CLAIM":            "rate limits have production defaults (docs/ratelimits.md)",
	"MINIFN_RATE_ORDER":            "rate limits have production defaults (docs/ratelimits.md)",
	"MINIFN_RATE_BOOKING":          "rate limits have production defaults (docs/ratelimits.md)",
	"MINIFN_BOOKING_REMIND_BEFORE": "a tunable with a default (2h)",
}

// envGroups sorts every variable of the configuration structs into a group
// (or leftOut); a variable in neither fails the test.
func envGroups(t *testing.T) map[string][]string {
	t.Helper()
	g := map[string][]string{}
	var unsorted []string
	// sections says how the variables of each embedded section of app.Config
	// ("" for its own fields) fall into groups; a section missing here
	// leaves all its variables unsorted.
	sections := map[string]func(string) string{
		"": func(n string) string {
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
		},
		"Engage": func(n string) string {
			if strings.HasPrefix(n, "MINIFN_SUBSCRIBE_") {
				return "subscribe" // app.Subscribe: me, wx-push, the order functions' paid hook
			}
			return ""
		},
		"Shipping":   func(string) string { return "shipping" },
		"Risk":       func(string) string { return "risk" },
		"Wallet":     func(string) string { return "wallet" },
		"RateLimits": func(string) string { return "" }, // all in leftOut
		"Booking": func(n string) string {
			if n == "MINIFN_SUBSCRIBE_BOOKING_TEMPLATE" {
				return "subscribe" // app.Subscribe reads it: its credits are banked as the paid template's
			}
			return "booking-remind" // the reminder's fields and page: order-expire sends it
		},
	}
	for _, v := range envTags(reflect.TypeFor[app.Config](), "") {
		if _, ok := leftOut[v.name]; ok {
			continue
		}
		if group := sections[v.section]; group != nil && group(v.name) != "" {
			g[group(v.name)] = append(g[group(v.name)], v.name)
			continue
		}
		unsorted = append(unsorted, v.name)
	}
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
	"bookings":      {"admin"}, // slots are the merchant's; the reminders go out from order-expire
	"campaigns":     {"admin"},
	"coupon-claim":  {"wechat", "risk"}, // a.Risk: getUserRiskRank
	"coupon-redeem": {"admin"},
	"coupons":       {},
	"login":         {"wechat"},
	"me":            {"wechat", "subscribe"}, // phone numbers; a.Subscribe banks credits
	"members":       {"admin"},               // PUT /tiers is the merchant's
	"order-create":  orderGroups,
	"order-expire":  append([]string{"booking-remind"}, orderGroups...), // and the booking reminders
	"orders":        append([]string{"admin"}, orderGroups...),
	"pay-notify":    orderGroups,
	"points":        {"wechat", "risk", "admin"},
	"products":      {"admin"},
	"qrcode":        {"wechat", "admin"},
	"refund":        append([]string{"admin"}, orderGroups...),
	"stores":        {"admin"},
	"wallet":        {"wechat", "admin", "pay", "wallet"}, // top-ups are WeChat Pay payments; MINIFN_WALLET is the switch
	"giftcards":     {"wechat", "admin", "pay", "wallet"}, // purchases are WeChat Pay payments; off with the wallet
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

// TestEnvTagsSections: envTags finds the variables of embedded sections,
// with their section, so that a variable of a new section is sorted (or
// fails TestDeployEnvGroups) like any other.
func TestEnvTagsSections(t *testing.T) {
	type Inner struct {
		B string `envconfig:"B"`
	}
	type Section struct {
		A string `envconfig:"A"`
		Inner
	}
	type conf struct {
		Top string `envconfig:"TOP"`
		Section
		Loose string
	}
	got := envTags(reflect.TypeFor[conf](), "")
	want := []envVar{{"TOP", ""}, {"A", "Section"}, {"B", "Inner"}, {"untagged field conf.Loose", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("envTags = %v, want %v", got, want)
	}
	var all []string
	for _, v := range envTags(reflect.TypeFor[app.Config](), "") {
		all = append(all, v.name)
	}
	for _, n := range []string{"MINIFN_STORE", "MINIFN_RATE_CLAIM", "MINIFN_SUBSCRIBE_STATE", "MINIFN_RISK_FAIL", "MINIFN_SHIPPING_MODE"} {
		if !slices.Contains(all, n) {
			t.Errorf("envTags(app.Config) misses %s (of %v)", n, all)
		}
	}
}
