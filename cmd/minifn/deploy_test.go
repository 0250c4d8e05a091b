package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/minifn/minifn/shared/functions"
)

// The deploy files (template.yaml, Makefile, serverless.yml) are checked
// against shared/functions, the single list of functions and routes, and against
// what `minifn build` writes.

// tagged is a YAML value with a CloudFormation short-form tag (!Ref, !Sub,
// !GetAtt, …), kept as written.
type tagged struct {
	Tag   string
	Value any
}

// loadYAML parses path with yaml.v3 and returns it as maps, slices and
// strings, with every custom-tagged node as a tagged.
func loadYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(mustRead(t, path), &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := fromNode(t, doc.Content[0]).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping", path)
	}
	return m
}

func fromNode(t *testing.T, n *yaml.Node) any {
	t.Helper()
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				t.Fatalf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			m[k] = fromNode(t, n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			s = append(s, fromNode(t, c))
		}
		v = s
	case yaml.ScalarNode:
		v = n.Value
	case yaml.AliasNode:
		t.Fatalf("line %d: YAML aliases are not accepted by CloudFormation", n.Line)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return tagged{n.Tag, v}
	}
	return v
}

// get walks m along keys; it fails the test if a key is missing.
func get(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is not a mapping", strings.Join(keys[:i], "."))
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

// logicalID is a function's resource name in template.yaml (and its SAM
// build target): coupon-claim → CouponClaimFunction.
func logicalID(name string) string {
	var b strings.Builder
	for _, p := range strings.Split(name, "-") {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String() + "Function"
}

// catalogRoutes returns a function's routes as a sorted set.
func listedRoutes(s functions.Spec) []string {
	r := slices.Clone(s.Routes)
	slices.Sort(r)
	return r
}

// fromGateway turns a gateway route back into the Go pattern it serves: a
// trailing greedy variable {proxy+} is Go's trailing-slash subtree.
func fromGateway(method, path string) string {
	return method + " " + strings.TrimSuffix(path, "{proxy+}")
}

func repoFile(t *testing.T, name string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, name)
}

func TestTemplate(t *testing.T) {
	tpl := loadYAML(t, repoFile(t, "template.yaml"))
	if get(t, tpl, "Transform") != "AWS::Serverless-2016-10-31" {
		t.Fatal("template.yaml is not a SAM template")
	}
	globals := get(t, tpl, "Globals", "Function").(map[string]any)
	if globals["Runtime"] != "provided.al2023" || !slices.Equal(globals["Architectures"].([]any), []any{"arm64"}) ||
		globals["Handler"] != "bootstrap" {
		t.Errorf("Globals.Function: runtime %v on %v, handler %v", globals["Runtime"], globals["Architectures"], globals["Handler"])
	}
	store := get(t, globals, "Environment", "Variables", "MINIFN_STORE")
	if store != (tagged{"!Sub", "dynamodb:${Table}"}) {
		t.Errorf("MINIFN_STORE is %v, want !Sub dynamodb:${Table}", store)
	}
	resources := get(t, tpl, "Resources").(map[string]any)
	params := get(t, tpl, "Parameters").(map[string]any)

	var fns []string
	for id, r := range resources {
		if get(t, r, "Type") == "AWS::Serverless::Function" {
			fns = append(fns, id)
		}
	}
	var want []string
	for _, s := range functions.All() {
		want = append(want, logicalID(s.Name))
		t.Run(s.Name, func(t *testing.T) { checkTemplateFunction(t, tpl, s, params) })
	}
	slices.Sort(fns)
	slices.Sort(want)
	if !slices.Equal(fns, want) {
		t.Errorf("template functions %v, want one per listed function %v", fns, want)
	}
	checkTable(t, resources)
	checkSecrets(t, params)
}

// checkTemplateFunction checks one function's resource: built by the
// Makefile, its routes on the HTTP API and a function URL (or a schedule),
// the store policy, only references to existing parameters, an output URL.
func checkTemplateFunction(t *testing.T, tpl map[string]any, s functions.Spec, params map[string]any) {
	id := logicalID(s.Name)
	r := get(t, tpl, "Resources", id)
	if get(t, r, "Metadata", "BuildMethod") != "makefile" || get(t, r, "Properties", "CodeUri") != "." {
		t.Errorf("%s is not built by the Makefile (Metadata.BuildMethod makefile, CodeUri .)", id)
	}
	props := get(t, r, "Properties").(map[string]any)
	if props["FunctionName"] != (tagged{"!Sub", "${AWS::StackName}-" + s.Name}) {
		t.Errorf("%s: FunctionName %v", id, props["FunctionName"])
	}
	events, _ := props["Events"].(map[string]any)
	var routes []string
	var schedules int
	for name, e := range events {
		switch get(t, e, "Type") {
		case "HttpApi":
			if get(t, e, "Properties", "ApiId") != (tagged{"!Ref", "HttpApi"}) {
				t.Errorf("%s event %s is not on the HttpApi", id, name)
			}
			props := get(t, e, "Properties").(map[string]any)
			if _, ok := props["Path"]; !ok {
				// SAM's $default route (no Path, no Method): every request
				// no other route takes. Only admin, whose router answers
				// them 404 in the contract's shape, and which needs it for
				// /admin/ (console_gateway_test.go).
				if s.Name != "admin" || props["Method"] != nil {
					t.Errorf("%s event %s: the $default route is admin's alone", id, name)
				}
				continue
			}
			routes = append(routes, fromGateway(get(t, e, "Properties", "Method").(string), get(t, e, "Properties", "Path").(string)))
		case "Schedule":
			schedules++
			if get(t, e, "Properties", "Schedule") != "rate(1 minute)" {
				t.Errorf("%s: schedule %v", id, get(t, e, "Properties", "Schedule"))
			}
		default:
			t.Errorf("%s: unexpected event %s", id, name)
		}
	}
	slices.Sort(routes)
	if !slices.Equal(routes, listedRoutes(s)) {
		t.Errorf("%s: HttpApi routes %v, listed %v", id, routes, listedRoutes(s))
	}
	url, hasURL := props["FunctionUrlConfig"]
	outputs := get(t, tpl, "Outputs").(map[string]any)
	if len(s.Routes) > 0 {
		if !hasURL || get(t, url, "AuthType") != "NONE" || get(t, url, "Cors", "AllowOrigins") == nil {
			t.Errorf("%s: no function URL with AuthType NONE and CORS", id)
		}
		if out, ok := outputs[id+"Url"]; !ok || get(t, out, "Value") != (tagged{"!GetAtt", id + "Url.FunctionUrl"}) {
			t.Errorf("Outputs.%sUrl is not the function's URL", id)
		}
	} else if hasURL || schedules != 1 {
		t.Errorf("%s is timer-only: want a schedule and no URL (URL %v, %d schedules)", id, hasURL, schedules)
	}
	policies, _ := props["Policies"].([]any)
	wantPolicies := []any{tagged{"!Ref", "StoreAccess"}}
	if s.Name == "admin" {
		wantPolicies = nil // never touches the store
	}
	if !slices.Equal(policies, wantPolicies) {
		t.Errorf("%s: policies %v, want %v", id, policies, wantPolicies)
	}
	vars, _ := get(t, r, "Properties").(map[string]any)["Environment"].(map[string]any)
	if vars != nil {
		for k, v := range get(t, vars, "Variables").(map[string]any) {
			if ref, ok := v.(tagged); ok && ref.Tag == "!Ref" {
				if _, ok := params[ref.Value.(string)]; !ok {
					t.Errorf("%s: %s refers to no parameter %v", id, k, ref.Value)
				}
			}
			if !strings.HasPrefix(k, "MINIFN_") {
				t.Errorf("%s: variable %s is not a MINIFN_ one", id, k)
			}
		}
	}
}

func checkTable(t *testing.T, resources map[string]any) {
	table := get(t, resources, "Table")
	if get(t, table, "Type") != "AWS::DynamoDB::Table" || get(t, table, "Properties", "BillingMode") != "PAY_PER_REQUEST" {
		t.Error("Table is not an on-demand DynamoDB table")
	}
	keys := fmt.Sprint(get(t, table, "Properties", "KeySchema"), get(t, table, "Properties", "AttributeDefinitions"))
	for _, k := range []string{"map[AttributeName:pk KeyType:HASH]", "map[AttributeName:sk KeyType:RANGE]",
		"map[AttributeName:pk AttributeType:S]", "map[AttributeName:sk AttributeType:S]"} {
		if !strings.Contains(keys, k) {
			t.Errorf("Table keys %s lack %s", keys, k)
		}
	}
	ttl := get(t, table, "Properties", "TimeToLiveSpecification")
	if get(t, ttl, "AttributeName") != "ttl" || get(t, ttl, "Enabled") != "true" {
		t.Errorf("Table TTL %v, want enabled on ttl (shared/store/dynamo)", ttl)
	}
	stmt := get(t, resources, "StoreAccess", "Properties", "PolicyDocument", "Statement").([]any)
	if len(stmt) != 1 || get(t, stmt[0], "Resource") != (tagged{"!GetAtt", "Table.Arn"}) {
		t.Errorf("StoreAccess grants more than the table: %v", stmt)
	}
	for _, a := range get(t, stmt[0], "Action").([]any) {
		if !slices.Contains([]any{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
			"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}, a) {
			t.Errorf("StoreAccess grants %v, which the store never calls", a)
		}
	}
}

// checkSecrets: secrets are NoEcho with no default, so a deploy can neither
// show one nor go out with a well-known value.
func checkSecrets(t *testing.T, params map[string]any) {
	for _, name := range []string{"SessionSecret", "WechatSecret", "AdminToken", "PayApiv3Key", "PayPrivateKey",
		"WechatPushToken", "WechatPushAesKey"} {
		p, ok := params[name].(map[string]any)
		if !ok {
			t.Errorf("no parameter %s", name)
			continue
		}
		if p["NoEcho"] != "true" {
			t.Errorf("parameter %s is not NoEcho", name)
		}
	}
	for name, p := range params {
		if _, ok := p.(map[string]any)["Default"]; ok && p.(map[string]any)["NoEcho"] == "true" {
			t.Errorf("secret parameter %s has a default value", name)
		}
	}
}

// TestMakefile checks a SAM build target per template function, each going
// to its function's directory with minifn build's Lambda flags and
// environment (TestMakefileBuildsWhatMinifnBuilds runs one).
func TestMakefile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	var targets []string
	for _, s := range functions.All() {
		targets = append(targets, "build-"+logicalID(s.Name))
	}
	cmd := exec.Command("make", append([]string{"-n", "ARTIFACTS_DIR=/artifacts"}, targets...)...)
	cmd.Dir = filepath.Dir(repoFile(t, "Makefile"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n: %v\n%s", err, out)
	}
	lambda := clouds[0]
	flags := strings.Join(lambda.goFlags(), " ")
	flags = strings.Replace(flags, "-ldflags -s -w", `-ldflags "-s -w"`, 1)
	want := strings.Join(lambda.goEnv(), " ") + " go build " + flags + ` -o "/artifacts/bootstrap" ./functions/`
	var built []string
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, want); ok {
			built = append(built, rest)
		} else if strings.Contains(line, "go build") {
			t.Errorf("Makefile builds with other flags:\n got %s\nwant %s…", line, want)
		}
	}
	var names []string
	for _, s := range functions.All() {
		names = append(names, s.Name)
	}
	if !slices.Equal(built, names) {
		t.Errorf("make %v builds %v, want %v", targets, built, names)
	}
}

func TestServerless(t *testing.T) {
	sls := loadYAML(t, repoFile(t, "serverless.yml"))
	if sls["component"] != "multi-scf" {
		t.Fatalf("component %v, want multi-scf", sls["component"])
	}
	in := get(t, sls, "inputs").(map[string]any)
	if get(t, in, "src", "src") != "./dist/scf" || in["runtime"] != "Go1" || in["type"] != "web" {
		t.Errorf("inputs: src %v, runtime %v, type %v", get(t, in, "src", "src"), in["runtime"], in["type"])
	}
	// Every file serverless.yml refers to is one minifn build writes: pack
	// each function (with a stand-in binary) the way build does.
	dist := t.TempDir()
	if err := os.Mkdir(filepath.Join(dist, "scf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range functions.All() {
		fake := filepath.Join(t.TempDir(), s.Name)
		if err := os.WriteFile(fake, []byte("stand-in for "+s.Name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := pack(dist, dist, clouds[1], s.Name, fake, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	fns := get(t, in, "functions").(map[string]any)
	apis := map[string][]string{}
	for _, a := range get(t, in, "triggers").([]any) {
		if get(t, a, "type") != "apigw" {
			continue
		}
		for _, api := range get(t, a, "parameters", "apis").([]any) {
			fn := get(t, api, "function").(string)
			path := get(t, api, "path").(string)
			apis[fn] = append(apis[fn], fromGateway(get(t, api, "method").(string), path))
			checkPathParams(t, api, path)
		}
	}
	tencent := tencentGateway(t)
	var names []string
	for _, s := range functions.All() {
		names = append(names, s.Name)
		f, ok := fns[s.Name].(map[string]any)
		if !ok {
			t.Errorf("serverless.yml lacks function %s", s.Name)
			continue
		}
		// HTTP functions are web functions (scf_bootstrap starts main on port
		// 9000); a timer-only one is an event function whose handler is main.
		handler, typ := "scf_bootstrap", any(nil)
		if len(s.Routes) == 0 {
			handler, typ = "main", "event"
		}
		if f["handler"] != handler || f["type"] != typ || f["src"] != "./"+s.Name || f["name"] != "minifn-"+s.Name {
			t.Errorf("%s: handler %v, type %v, src %v, name %v", s.Name, f["handler"], f["type"], f["src"], f["name"])
		}
		exe := filepath.Join(dist, "scf", strings.TrimPrefix(f["src"].(string), "./"), f["handler"].(string))
		if st, err := os.Stat(exe); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: minifn build writes no executable %s (%v)", s.Name, exe, err)
		}
		checkSCFEnv(t, s.Name, f)
		got := prefixedRoutes(t, tencent, s, apis[s.Name])
		slices.Sort(got)
		if !slices.Equal(got, listedRoutes(s)) {
			t.Errorf("%s: API gateway routes %v, listed %v", s.Name, got, listedRoutes(s))
		}
	}
	var keys []string
	for k := range fns {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, names) {
		t.Errorf("serverless.yml functions %v, listed %v", keys, names)
	}
	checkTimer(t, in)
}

// prefixedRoutes returns a function's Tencent APIs (as Go patterns) with
// each plain prefix API that stands for routes with path variables
// ("GET /stores/" for "GET /stores/{id}", where a regex API would overlap
// other functions' routes: serverless.yml) replaced by the listed routes it
// carries: those under the prefix that Tencent's matching (FAQ 628/11939,
// matchTencentAPIGW) sends to this function through it. A prefix API that
// carries no listed route is left as it is, and so fails the comparison.
func prefixedRoutes(t *testing.T, gw gateway, s functions.Spec, apis []string) []string {
	var out []string
	for _, a := range apis {
		method, prefix, _ := strings.Cut(a, " ")
		if !strings.HasSuffix(prefix, "/") || slices.Contains(s.Routes, a) {
			out = append(out, a) // an exact API, or a Go subtree route served as such (/admin/)
			continue
		}
		var carried []string
		for _, r := range s.Routes {
			m, p, _ := strings.Cut(r, " ")
			if m != method || !strings.HasPrefix(p, prefix) || !strings.Contains(p, "{") {
				continue
			}
			sample := regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(p, "x1")
			if fn := gw.match(t, gw.routes, method, sample); fn != s.Name {
				t.Errorf("%s: %s %s reaches function %q through Tencent's API gateway", s.Name, method, sample, fn)
			}
			carried = append(carried, r)
		}
		if len(carried) == 0 {
			carried = []string{a}
		}
		out = append(out, carried...)
	}
	return out
}

// checkPathParams: every {name} in an API path is declared as a PATH param.
func checkPathParams(t *testing.T, api any, path string) {
	var declared []string
	params, _ := api.(map[string]any)["param"].([]any)
	for _, p := range params {
		if get(t, p, "position") == "PATH" {
			declared = append(declared, get(t, p, "name").(string))
		}
	}
	var want []string
	for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
		want = append(want, m[1])
	}
	if !slices.Equal(declared, want) {
		t.Errorf("API %s: path params %v declared, want %v", path, declared, want)
	}
}

// checkSCFEnv: each function gets the store and session secret, and every
// value comes from the deployer's environment (.env), never the file.
func checkSCFEnv(t *testing.T, name string, f map[string]any) {
	vars := map[string]string{}
	for _, e := range get(t, f, "environments").([]any) {
		k, v := get(t, e, "key").(string), get(t, e, "value").(string)
		vars[k] = v
		if v != "${env:"+k+"}" {
			t.Errorf("%s: %s = %q, want ${env:%s}", name, k, v, k)
		}
	}
	for _, k := range []string{"MINIFN_STORE", "MINIFN_SESSION_SECRET"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("%s: no %s", name, k)
		}
	}
}

func checkTimer(t *testing.T, in map[string]any) {
	var timers []string
	for _, tr := range get(t, in, "triggers").([]any) {
		if get(t, tr, "type") == "timer" {
			timers = append(timers, get(t, tr, "function").(string))
			if c := get(t, tr, "parameters", "cronExpression"); c != "0 */1 * * * * *" {
				t.Errorf("timer cron %v, want every minute", c)
			}
		}
	}
	var want []string
	for _, s := range functions.All() {
		if len(s.Routes) == 0 {
			want = append(want, s.Name)
		}
	}
	if !slices.Equal(timers, want) {
		t.Errorf("timers for %v, want %v (the timer-only functions)", timers, want)
	}
}
