// Package adminfn holds the admin function: the merchant console, served
// from files embedded in the binary (shared/console), with its handler.
package adminfn

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/console"
	"github.com/minifn/minifn/shared/platform"
)

// Admin serves the merchant console at /admin/: static files embedded in
// the binary. The console calls the other functions' admin routes with the
// admin token the merchant signs in with; this function holds no secret.
var Admin = app.Spec{
	Name:   "admin",
	Routes: []string{"GET /admin", "GET /admin/"},
	Build: func(*app.App) (platform.Function, error) {
		h, err := Console(console.Files())
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: h}, nil
	},
}
