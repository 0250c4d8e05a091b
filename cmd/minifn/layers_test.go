package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The layers of minifn, as import paths under the module (a path names the
// package and every package below it).
const module = "github.com/minifn/minifn/"

// edge is the HTTP and wiring layer: the packages that serve HTTP (routes,
// middleware, the Lambda/SCF adapters, the console, the emulators) or wire
// the app from its configuration. Domain packages never depend on them, in
// their code or in their tests.
var edge = []string{
	"shared/app",
	"shared/functions",
	"shared/httpapi",
	"shared/session",
	"shared/platform",
	"shared/console",
	"shared/wechat/emulator",
	"shared/pay/emulator",
	// The access line that the platform writes and httpapi.Error fills;
	// its Named middleware wraps a function's handler. Domain packages may
	// import it (it imports only the standard library): wechat hashes the
	// openid of its log lines with accesslog.HashOpenID.
	"shared/accesslog",
}

// mayImportEdge are the edge packages a domain package may import.
var mayImportEdge = []string{"shared/accesslog"}

// cloudSDKs are the cloud vendors' SDKs and runtimes: only the platform
// adapters (edge) and the store backends may depend on them.
var cloudSDKs = []string{"github.com/aws/", "github.com/tencentyun/", "github.com/tencentcloud/"}

// backends are the store backends. The DynamoDB one is the only domain
// package that may depend on a cloud SDK (the AWS SDK for Go v2 and its
// smithy runtime, never aws-lambda-go); a domain package depends on the
// store contract (shared/store) and never on a backend, whose choice is the
// app's (shared/app). Test helpers (storetest, ordertest) open every backend.
var backends = []string{"shared/store/bolt", "shared/store/dynamo", "shared/store/postgres"}

// dynamoSDK is what shared/store/dynamo may depend on.
var dynamoSDK = []string{"github.com/aws/aws-sdk-go-v2/", "github.com/aws/smithy-go"}

// directHTTP are the domain packages whose own code may import net/http
// (all others may reach it only through these):
//   - shared/wechat and shared/pay are HTTP clients of the WeChat and WeChat
//     Pay APIs;
//   - shared/ratelimit reads the source address of an *http.Request
//     (SourceIP, ClientIP) and wraps a handler with its limit (Middleware),
//     which the app mounts: the limiter's store keys stay in one package.
//
// Test helper packages (names ending in "test": storetest, ordertest) run
// the emulators on loopback and may import net/http too. Handlers of routes
// live in the edge only.
var directHTTP = []string{"shared/wechat", "shared/pay", "shared/ratelimit"}

// pkg is what go list tells of one package.
type pkg struct {
	ImportPath   string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

// rel is p's path relative to the module ("" for a package outside it).
func rel(p string) string {
	r, ok := strings.CutPrefix(p, module)
	if !ok {
		return ""
	}
	return r
}

// under reports whether p (module-relative) is one of roots or below one.
func under(p string, roots []string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return p == r || strings.HasPrefix(p, r+"/") })
}

func hasPrefix(p string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(x string) bool { return strings.HasPrefix(p, x) })
}

func isTestHelper(p string) bool { return strings.HasSuffix(p, "test") }

// goList lists patterns with their imports and dependencies.
func goList(t *testing.T, patterns ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports"}, patterns...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	d := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := d.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// layerViolations returns what breaks the layering among pkgs, one line each.
func layerViolations(pkgs map[string]pkg) []string {
	var bad []string
	for path, p := range pkgs {
		r := rel(path)
		if r == "" || !strings.HasPrefix(r, "shared/") || under(r, edge) {
			continue
		}
		helper := isTestHelper(r)
		// why names the direct import through which p reaches dep.
		why := func(dep string) string {
			if slices.Contains(p.Imports, dep) {
				return "imports it"
			}
			for _, imp := range p.Imports {
				if q, ok := pkgs[imp]; ok && slices.Contains(q.Deps, dep) {
					return "through " + imp
				}
			}
			return "indirectly"
		}
		for _, dep := range p.Deps {
			d := rel(dep)
			switch {
			case d != "" && under(d, edge) && !under(d, mayImportEdge) && !(helper && (d == "shared/wechat/emulator" || d == "shared/pay/emulator")):
				bad = append(bad, r+" depends on "+d+" ("+why(dep)+"): the domain must not depend on the HTTP/wiring layer")
			case d != "" && under(d, backends) && !helper && !under(r, backends):
				bad = append(bad, r+" depends on the store backend "+d+" ("+why(dep)+"): depend on shared/store")
			case hasPrefix(dep, cloudSDKs) && !((r == "shared/store/dynamo" || helper) && hasPrefix(dep, dynamoSDK)):
				bad = append(bad, r+" depends on the cloud SDK "+dep+" ("+why(dep)+")")
			}
		}
		if slices.Contains(p.Imports, "net/http") && !under(r, directHTTP) && !helper {
			bad = append(bad, r+" imports net/http: only the edge serves HTTP, and only shared/wechat, shared/pay and shared/ratelimit use it among domain packages")
		}
		for _, imp := range append(slices.Clone(p.TestImports), p.XTestImports...) {
			if d := rel(imp); d != "" && under(d, edge) && !under(d, mayImportEdge) && !(d == "shared/wechat/emulator" || d == "shared/pay/emulator") {
				bad = append(bad, r+"'s tests import "+d+": domain tests use the domain (HTTP-level helpers live under shared/functions)")
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// TestLayers: the domain packages (everything under shared/ but the edge)
// depend on no HTTP handler package, no wiring, no store backend and no
// cloud SDK, in their code or their tests (which may run the emulators).
func TestLayers(t *testing.T) {
	pkgs := goList(t, module+"shared/...")
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages under shared/", len(pkgs))
	}
	for _, want := range []string{"shared/order", "shared/coupon", "shared/store/dynamo", "shared/order/ordertest"} {
		if _, ok := pkgs[module+want]; !ok {
			t.Fatalf("go list did not list %s", want)
		}
	}
	for _, v := range layerViolations(pkgs) {
		t.Error(v)
	}
}

// TestLayersCatch: the check fails on each kind of forbidden dependency, on
// copies of real packages' lists with one import added.
func TestLayersCatch(t *testing.T) {
	pkgs := goList(t, module+"shared/...")
	for _, tc := range []struct {
		pkg, add, want string
		test           bool
	}{
		{"shared/order", module + "shared/httpapi", "shared/order depends on shared/httpapi", false},
		{"shared/coupon", module + "shared/functions/couponfn", "shared/coupon depends on shared/functions/couponfn", false},
		{"shared/product", module + "shared/store/bolt", "shared/product depends on the store backend shared/store/bolt", false},
		{"shared/points", "github.com/aws/aws-lambda-go/lambda", "shared/points depends on the cloud SDK github.com/aws/aws-lambda-go/lambda", false},
		{"shared/store/dynamo", "github.com/tencentyun/scf-go-lib/cloudfunction", "shared/store/dynamo depends on the cloud SDK github.com/tencentyun/scf-go-lib/cloudfunction", false},
		{"shared/scene", "net/http", "shared/scene imports net/http", false},
		{"shared/order", module + "shared/functions/orderfn", "shared/order's tests import shared/functions/orderfn", true},
	} {
		changed := map[string]pkg{}
		for k, v := range pkgs {
			changed[k] = v
		}
		p := changed[module+tc.pkg]
		if tc.test {
			p.XTestImports = append(slices.Clone(p.XTestImports), tc.add)
		} else {
			p.Imports = append(slices.Clone(p.Imports), tc.add)
			p.Deps = append(slices.Clone(p.Deps), tc.add)
		}
		changed[module+tc.pkg] = p
		got := layerViolations(changed)
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, tc.want) }) {
			t.Errorf("%s + %s: violations %q; want one starting %q", tc.pkg, tc.add, got, tc.want)
		}
	}
}

// TestWalletLinksNoOrders: the wallet binary links WeChat Pay (top-ups) but
// none of the order functions' domain: its Pay client comes from
// shared/functions/internal/paywire, not from orderfn.
func TestWalletLinksNoOrders(t *testing.T) {
	deps := goList(t, module+"functions/wallet")[module+"functions/wallet"].Deps
	if !slices.Contains(deps, module+"shared/pay") || !slices.Contains(deps, module+"shared/wallet") {
		t.Fatalf("functions/wallet does not link shared/pay and shared/wallet: %v", deps)
	}
	for _, dep := range deps {
		if d := rel(dep); under(d, []string{"shared/order", "shared/coupon", "shared/points", "shared/product", "shared/functions/orderfn"}) {
			t.Errorf("functions/wallet links %s", d)
		}
	}
}

// TestGiftCardsLinkNoOrders: the giftcards binary links WeChat Pay and the
// wallet but none of the order functions' domain (paywire, not orderfn).
func TestGiftCardsLinkNoOrders(t *testing.T) {
	deps := goList(t, module+"functions/giftcards")[module+"functions/giftcards"].Deps
	for _, want := range []string{"shared/pay", "shared/wallet", "shared/giftcard"} {
		if !slices.Contains(deps, module+want) {
			t.Fatalf("functions/giftcards does not link %s: %v", want, deps)
		}
	}
	for _, dep := range deps {
		if d := rel(dep); under(d, []string{"shared/order", "shared/coupon", "shared/points", "shared/product", "shared/functions/orderfn"}) {
			t.Errorf("functions/giftcards links %s", d)
		}
	}
}
