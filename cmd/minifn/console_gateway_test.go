package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/console"
	"github.com/minifn/minifn/shared/functions"
	"github.com/minifn/minifn/shared/functions/adminfn"
)

// The merchant console once deployed: the browser loads it through a
// gateway, then calls the API through the same gateway. This test replays
// what the browser does, from the console's own files, through the routes
// template.yaml and serverless.yml declare, resolved with each gateway's
// documented matching rules, with and without a path prefix in front (a
// stage): every file must reach the admin function (and be served by it),
// every API call the function that serves it in shared/functions.

// gwRoute is one route a deploy file declares.
type gwRoute struct {
	method, path, fn string // path "$default": AWS's catch-all route
}

// gateway resolves a request path (its stage already removed) to the
// function that gets it, or "" when the gateway answers itself (no route).
type gateway struct {
	name   string
	stage  string // the path prefix the with-a-prefix case runs under
	routes []gwRoute
	match  func(t *testing.T, routes []gwRoute, method, path string) string
}

func TestConsoleBehindGateways(t *testing.T) {
	gws := []gateway{awsGateway(t), tencentGateway(t)}
	for _, gw := range gws {
		for _, base := range []string{"", gw.stage} {
			t.Run(fmt.Sprintf("%s%s", gw.name, base), func(t *testing.T) {
				checkConsoleThrough(t, gw, base)
			})
		}
	}
}

// awsGateway reads template.yaml's HttpApi events. The HTTP API has no
// StageName, so SAM gives it the $default stage, served at the root; the
// prefix case is a named stage, whose name is the first path segment and is
// left in rawPath for the function (shared/platform/awslambda,
// MINIFN_BASE_PATH).
func awsGateway(t *testing.T) gateway {
	tpl := loadYAML(t, repoFile(t, "template.yaml"))
	if props, _ := get(t, tpl, "Resources", "HttpApi").(map[string]any)["Properties"].(map[string]any); props["StageName"] != nil {
		t.Fatal("the HttpApi has a StageName: the console URL in docs/deploy.md assumes $default")
	}
	var routes []gwRoute
	for _, r := range get(t, tpl, "Resources").(map[string]any) {
		if get(t, r, "Type") != "AWS::Serverless::Function" {
			continue
		}
		name := strings.TrimPrefix(get(t, r, "Properties", "FunctionName").(tagged).Value.(string), "${AWS::StackName}-")
		events, _ := get(t, r, "Properties").(map[string]any)["Events"].(map[string]any)
		for _, e := range events {
			if get(t, e, "Type") != "HttpApi" {
				continue
			}
			p := get(t, e, "Properties").(map[string]any)
			if p["Path"] == nil && p["Method"] == nil {
				// "If neither Path nor Method are specified, SAM creates a
				// default API path that routes any request that doesn't map
				// to a different endpoint" (sam-property-function-httpapi).
				routes = append(routes, gwRoute{"ANY", "$default", name})
				continue
			}
			routes = append(routes, gwRoute{strings.ToUpper(p["Method"].(string)), p["Path"].(string), name})
		}
	}
	return gateway{name: "aws", stage: "/live", routes: routes, match: matchHTTPAPI}
}

// matchHTTPAPI is API Gateway HTTP API route selection,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html:
//   - "{name}" matches one path segment; a greedy "{proxy+}", last in a
//     route, "catches all child resources of a route": one or more segments
//     below it, not the bare parent (GET /admin/ is not a child of /admin/).
//   - ANY matches "all methods that you haven't defined for a resource".
//   - "API Gateway selects the route with the most-specific match": 1. a
//     full match for route and method, 2. a match with a greedy path
//     variable, 3. the $default route. No match: {"message":"Not Found"}.
//
// Two routes of different functions matching at the same rank is a failure:
// the page does not say which would win.
func matchHTTPAPI(t *testing.T, routes []gwRoute, method, path string) string {
	best, rank := []string{}, 99
	consider := func(r gwRoute, rk int) {
		switch {
		case rk < rank:
			best, rank = []string{r.fn}, rk
		case rk == rank && !slices.Contains(best, r.fn):
			best = append(best, r.fn)
		}
	}
	for _, r := range routes {
		if r.path == "$default" {
			consider(r, 6)
			continue
		}
		full, greedy := matchAWSPath(r.path, path)
		if !full && !greedy {
			continue
		}
		rk := 0
		if greedy {
			rk = 2
		}
		switch {
		case r.method == method:
		case r.method == "ANY" && !routeDefines(routes, r.path, method):
			rk++
		default:
			continue
		}
		consider(r, rk)
	}
	if len(best) > 1 {
		t.Errorf("HTTP API: %s %s matches routes of %v at the same rank", method, path, best)
	}
	if len(best) == 0 {
		return ""
	}
	return best[0]
}

func routeDefines(routes []gwRoute, path, method string) bool {
	return slices.ContainsFunc(routes, func(r gwRoute) bool { return r.path == path && r.method == method })
}

// matchAWSPath tells whether route covers path fully (literal segments and
// {name}, each one non-empty segment) or through its greedy last variable.
func matchAWSPath(route, path string) (full, greedy bool) {
	rs := strings.Split(strings.TrimPrefix(route, "/"), "/")
	ps := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, seg := range rs {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}") {
			rest := ps[min(i, len(ps)):]
			return false, len(rest) > 0 && rest[0] != ""
		}
		if i >= len(ps) {
			return false, false
		}
		if strings.HasPrefix(seg, "{") {
			if ps[i] == "" {
				return false, false
			}
		} else if seg != ps[i] {
			return false, false
		}
	}
	return len(ps) == len(rs), false
}

// tencentGateway reads serverless.yml's apigw trigger: its APIs and the
// environment, which the service's default domain puts first in every path
// (https://cloud.tencent.com/document/faq/628/11939: "默认调用地址中需要带环境名称",
// …/release/用户路径); a custom domain mapped to it drops it.
func tencentGateway(t *testing.T) gateway {
	sls := loadYAML(t, repoFile(t, "serverless.yml"))
	var routes []gwRoute
	stage := ""
	for _, tr := range get(t, sls, "inputs", "triggers").([]any) {
		if get(t, tr, "type") != "apigw" {
			continue
		}
		stage = "/" + get(t, tr, "parameters", "environment").(string)
		for _, a := range get(t, tr, "parameters", "apis").([]any) {
			routes = append(routes, gwRoute{get(t, a, "method").(string), get(t, a, "path").(string), get(t, a, "function").(string)})
		}
	}
	return gateway{name: "tencent", stage: stage, routes: routes, match: matchTencentAPIGW}
}

// matchTencentAPIGW is Tencent API Gateway's API selection, "API 命中优先级如何
// 确定?" in https://cloud.tencent.com/document/faq/628/11939 (English:
// https://www.tencentcloud.com/document/product/628/11939), among the APIs
// of the request's method:
//  1. a path starting with "=" is an exact match, highest priority;
//  2. one starting with "^~" a preferred prefix match;
//  3. a path with path variables is a regular expression; a variable takes
//     one or more characters, slashes included (the FAQ's /{PathA}/product/{PathB}
//     gives PathB "apigw/detail");
//  4. a plain path is a prefix match, the longest one winning (the FAQ's
//     request /product/apigw/document hits the API /product/).
//
// Two matching regular expressions of different functions fail the test:
// the FAQ gives no order among them.
func matchTencentAPIGW(t *testing.T, routes []gwRoute, method, path string) string {
	var exact, pref, plain gwRoute
	var regex []string
	for _, r := range routes {
		if r.method != method {
			continue
		}
		switch p := r.path; {
		case strings.HasPrefix(p, "="):
			if p[1:] == path {
				exact = r
			}
		case strings.HasPrefix(p, "^~"):
			if strings.HasPrefix(path, p[2:]) && len(p) > len(pref.path) {
				pref = r
			}
		case strings.Contains(p, "{"):
			re := "^" + regexp.MustCompile(`\\\{[^}]*\\\}`).ReplaceAllString(regexp.QuoteMeta(p), "(.+)") + "$"
			if regexp.MustCompile(re).MatchString(path) && !slices.Contains(regex, r.fn) {
				regex = append(regex, r.fn)
			}
		default:
			if strings.HasPrefix(path, p) && len(p) > len(plain.path) {
				plain = r
			}
		}
	}
	switch {
	case exact.fn != "":
		return exact.fn
	case pref.fn != "":
		return pref.fn
	case len(regex) > 1:
		t.Errorf("API gateway: %s %s matches the path variables of %v", method, path, regex)
		fallthrough
	case len(regex) == 1:
		return regex[0]
	}
	return plain.fn
}

// checkConsoleThrough loads the console at its documented URL,
// https://domain<base>/admin/ (and /admin, which redirects there), through
// gw, as a browser does.
func checkConsoleThrough(t *testing.T, gw gateway, base string) {
	admin, err := adminfn.Console(console.Files())
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := url.Parse("https://console.example.cn")
	// get sends one GET through the gateway to the admin function, which
	// strips base (MINIFN_BASE_PATH) as shared/platform does.
	get := func(u *url.URL) *http.Response {
		t.Helper()
		if u.Host != origin.Host {
			t.Errorf("the console loads %s from another origin", u)
			return nil
		}
		rest, ok := strings.CutPrefix(u.Path, base)
		if !ok || !strings.HasPrefix(rest, "/") {
			t.Errorf("GET %s: outside the stage %q, the gateway answers Not Found", u.Path, base)
			return nil
		}
		if fn := gw.match(t, gw.routes, "GET", rest); fn != "admin" {
			t.Errorf("GET %s reaches function %q, not admin", u.Path, fn)
			return nil
		}
		req := httptest.NewRequest("GET", (&url.URL{Path: rest}).RequestURI(), nil)
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		return rec.Result()
	}

	// /admin redirects, and the Location resolves under the same stage.
	entry := origin.ResolveReference(&url.URL{Path: base + "/admin"})
	res := get(entry)
	if res == nil {
		return
	}
	page := entry.ResolveReference(&url.URL{Path: res.Header.Get("Location")})
	if res.StatusCode != http.StatusMovedPermanently || page.Path != base+"/admin/" {
		t.Errorf("GET %s: %d to %s, want 301 to %s/admin/", entry.Path, res.StatusCode, page, base)
	}
	page = origin.ResolveReference(&url.URL{Path: base + "/admin/"})

	// Every file, from index.html on: what each names, resolved against
	// its own URL as the browser does (RFC 3986 §5), must load.
	loaded := map[string]*url.URL{} // file → the URL it loaded from
	bodies := map[string]string{}
	queue := []*url.URL{page}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		name := strings.TrimPrefix(u.Path, base+"/admin/")
		if name == "" {
			name = "index.html"
		}
		if _, seen := loaded[name]; seen {
			continue
		}
		loaded[name] = u
		res := get(u)
		if res == nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", u.Path, res.StatusCode, b)
			continue
		}
		bodies[name] = string(b)
		for _, ref := range consoleRefs(name, string(b)) {
			r, err := url.Parse(ref)
			if err != nil {
				t.Errorf("%s names %q: %v", name, ref, err)
				continue
			}
			queue = append(queue, u.ResolveReference(r))
		}
	}
	if len(loaded) < 5 || bodies["api.js"] == "" {
		t.Fatalf("the console loaded only %v: the reference scan found nothing", slices.Sorted(mapKeys(loaded)))
	}

	// Every API call: where api.js sends a contract path, then which
	// function the gateway gives it, which must be the one serving it.
	toURL := apiResolver(t, bodies["api.js"], loaded["api.js"], page)
	serving := servingFunctions()
	calls := 0
	for name, src := range bodies {
		if !strings.HasSuffix(name, ".js") || name == "api.js" {
			continue
		}
		for _, c := range apiCalls(t, name, src) {
			if strings.HasPrefix(c.path, "/_emulator/") {
				continue // `minifn dev` only: the Emulator screen, shown when /_emulator/calls answers
			}
			calls++
			u := toURL(c.path)
			want := serving(c.method, c.path)
			if want == "" {
				t.Errorf("%s: %s %s is no route of shared/functions", name, c.method, c.path)
				continue
			}
			rest, ok := strings.CutPrefix(u.Path, base)
			if !ok || u.Host != origin.Host {
				t.Errorf("%s: %s %s goes to %s, outside %s%s", name, c.method, c.path, u, origin, base)
				continue
			}
			if got := gw.match(t, gw.routes, c.method, rest); got != want {
				t.Errorf("%s: %s %s (%s) reaches function %q, served by %q", name, c.method, c.path, u.Path, got, want)
			}
		}
	}
	if calls < 10 {
		t.Errorf("found only %d API calls in the console: the call scan is broken", calls)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// consoleRefs lists what a console file makes the browser load: an HTML
// file's src and href attributes (not #fragments), a module's imports, a
// style sheet's url()s.
func consoleRefs(name, src string) []string {
	re := map[string]*regexp.Regexp{
		".html": regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`),
		".js":   regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;'"]*?\bfrom\s*'([^']+)'|^\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'`),
		".css":  regexp.MustCompile(`url\(\s*['"]?([^'")]+)`),
	}[path.Ext(name)]
	if re == nil {
		return nil
	}
	var refs []string
	for _, m := range re.FindAllStringSubmatch(src, -1) {
		refs = append(refs, strings.Join(m[1:], ""))
	}
	return refs
}

// apiResolver models how api.js turns a contract path into the URL it
// fetches. When every fetch in it goes through url(), paths are resolved
// against its root, new URL('<ref>', import.meta.url) (minus the leading
// slash); otherwise fetch gets the path itself, which the browser resolves
// against the page.
func apiResolver(t *testing.T, apijs string, module, page *url.URL) func(string) *url.URL {
	fetches := regexp.MustCompile(`\bfetch\(\s*([a-zA-Z]*)`).FindAllStringSubmatch(apijs, -1)
	viaRoot := len(fetches) > 0
	for _, f := range fetches {
		viaRoot = viaRoot && f[1] == "url"
	}
	m := regexp.MustCompile(`new URL\('([^']*)', import\.meta\.url\)`).FindStringSubmatch(apijs)
	if !viaRoot || m == nil {
		return func(p string) *url.URL {
			r, _ := url.Parse(p)
			return page.ResolveReference(r)
		}
	}
	root := module.ResolveReference(&url.URL{Path: m[1]})
	return func(p string) *url.URL {
		r, _ := url.Parse(strings.TrimPrefix(p, "/"))
		return root.ResolveReference(r)
	}
}

// servingFunctions returns which function of shared/functions serves a
// method and path, by their routes (Go patterns), or "".
func servingFunctions() func(method, path string) string {
	mux := http.NewServeMux()
	for _, s := range functions.All() {
		for _, r := range s.Routes {
			mux.Handle(r, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, s.Name) }))
		}
	}
	return func(method, path string) string {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if rec.Code != http.StatusOK {
			return ""
		}
		return rec.Body.String()
	}
}

// apiCall is one call of api.js's helpers in a console module, its path
// with every value the code computes replaced by a sample segment.
type apiCall struct{ method, path string }

var (
	// get(…), post(…), put(…), del(…), image(…) (not FormData's d.get),
	// and call('METHOD', …).
	helperCall = regexp.MustCompile(`(?:^|[^.\w])(get|post|put|del|image)\(|(?:^|[^.\w])call\(\s*'([A-Z]+)',`)
	helperVerb = map[string]string{"get": "GET", "post": "POST", "put": "PUT", "del": "DELETE", "image": "GET"}
)

// apiCalls finds the API calls in a module and evaluates each path
// argument: string literals, +, and names the module defines (a const, an
// arrow function, a function's parameter at its call sites). A value the
// code computes (an id, a query) becomes "x1"; a path the scan cannot
// evaluate to one starting with "/" fails the test.
func apiCalls(t *testing.T, name, src string) []apiCall {
	src = regexp.MustCompile(`(?m)(^|\s)//.*$`).ReplaceAllString(src, "$1")
	var calls []apiCall
	for _, loc := range helperCall.FindAllStringSubmatchIndex(src, -1) {
		method := ""
		if loc[2] >= 0 {
			method = helperVerb[src[loc[2]:loc[3]]]
		} else {
			method = src[loc[4]:loc[5]]
		}
		args := splitArgs(src[loc[1]:])
		if len(args) == 0 {
			t.Errorf("%s: a call at byte %d has no path", name, loc[0])
			continue
		}
		for _, p := range evalPath(src, args[0], 0) {
			if !strings.HasPrefix(p, "/") {
				t.Errorf("%s: cannot tell the path of %s(%s): %q", name, method, args[0], p)
				continue
			}
			p, _, _ = strings.Cut(p, "?")
			calls = append(calls, apiCall{method, p})
		}
	}
	return calls
}

// splitArgs returns the top-level comma-separated arguments of the call
// whose "(" precedes s.
func splitArgs(s string) []string { return splitTop(s, ',') }

// splitTop splits s at sep outside quotes and brackets, up to the end of s
// or to a closing bracket that closes nothing opened in s (the end of the
// call whose arguments s begins with).
func splitTop(s string, sep byte) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			if depth == 0 {
				return append(parts, strings.TrimSpace(s[start:i]))
			}
			depth--
		case c == sep && depth == 0:
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

// evalPath evaluates a path expression of src to its possible values.
func evalPath(src, expr string, depth int) []string {
	if depth > 4 {
		return []string{"x1"}
	}
	out := []string{""}
	for _, term := range splitPlus(expr) {
		var vals []string
		switch {
		case len(term) >= 2 && term[0] == '\'' && term[len(term)-1] == '\'':
			vals = []string{term[1 : len(term)-1]}
		case regexp.MustCompile(`^\w+$`).MatchString(term):
			vals = evalName(src, term, depth)
		case regexp.MustCompile(`^(\w+)\(`).MatchString(term):
			fn := regexp.MustCompile(`^(\w+)\(`).FindStringSubmatch(term)[1]
			if m := regexp.MustCompile(`const ` + fn + ` = \([^)]*\) => ([^;\n]+);`).FindStringSubmatch(src); m != nil {
				vals = evalPath(src, m[1], depth+1)
			} else {
				vals = []string{"x1"} // encodeURIComponent(…), String(…): a value
			}
		default:
			vals = []string{"x1"}
		}
		var next []string
		for _, o := range out {
			for _, v := range vals {
				next = append(next, o+v)
			}
		}
		out = next
	}
	return out
}

// evalName gives a name's values: a const it is set to, or the literal
// arguments at its position in the calls of the function that takes it; a
// name the module computes otherwise is a value ("x1").
func evalName(src, name string, depth int) []string {
	if m := regexp.MustCompile(`const ` + name + ` = ('[^']*');`).FindStringSubmatch(src); m != nil {
		return evalPath(src, m[1], depth+1)
	}
	for _, f := range regexp.MustCompile(`function (\w+)\(([^)]*)\)`).FindAllStringSubmatch(src, -1) {
		params := strings.Split(f[2], ",")
		i := slices.IndexFunc(params, func(p string) bool { return strings.TrimSpace(p) == name })
		if i < 0 {
			continue
		}
		var vals []string
		for _, loc := range regexp.MustCompile(`(?:^|[^.\w])`+f[1]+`\(`).FindAllStringIndex(src, -1) {
			args := splitArgs(src[loc[1]:])
			if strings.Contains(src[max(loc[0]-10, 0):loc[1]], "function") || i >= len(args) {
				continue
			}
			vals = append(vals, evalPath(src, args[i], depth+1)...)
		}
		if len(vals) > 0 {
			return vals
		}
	}
	return []string{"x1"}
}

// splitPlus splits an expression at its top-level "+".
func splitPlus(expr string) []string { return splitTop(expr, '+') }
