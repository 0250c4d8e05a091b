// Package catalog lists minifn's functions: for each, its name (the
// directory under functions/), the routes it serves, and how to build it
// from an *app.App. Function binaries, `minifn dev` (every route on one
// server) and `minifn invoke` all start from a Spec.
//
// # Adding a function
//
// Put its Spec in this package's <feature>.go, add one line to All, and
// create functions/<name>/main.go holding `func main() { catalog.Main(catalog.X) }`.
// A Build does only its own function's work: it is the cold start of that
// binary, and builds nothing another function needs.
package catalog

import (
	"net/http"
	"slices"
	"strings"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
)

// Spec describes one function.
type Spec struct {
	// Name is the function's directory under functions/ and its name on the
	// cloud (lambda zip, SCF function).
	Name string
	// Routes are the patterns its Handler serves ("POST /login"), exactly.
	// Empty for a timer-only function.
	Routes []string
	// Build makes the function from the shared App: an httpapi.Router
	// serving exactly Routes, and/or a timer Job.
	Build func(*app.App) (platform.Function, error)
}

// All returns every function, sorted by name. Feature files add one line.
func All() []Spec {
	specs := []Spec{
		Login,
		Me,
		QRCode,
		Points,
		Campaigns,
		CouponClaim,
		Coupons,
		CouponRedeem,
		Products,
		OrderCreate,
		Orders,
		PayNotify,
		OrderExpire,
		Refund,
		Admin,
	}
	slices.SortFunc(specs, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// Lookup returns the Spec named name.
func Lookup(name string) (Spec, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Main runs spec as the process's function (see app.Main).
func Main(spec Spec) { app.Main(spec.Build) }

// router serves handlers, keyed by the patterns of a Spec's Routes.
func router(routes map[string]http.Handler) *httpapi.Router {
	rt := httpapi.NewRouter()
	for pattern, h := range routes {
		rt.Handle(pattern, h)
	}
	return rt
}
