// Package console holds the merchant console: a web app of plain HTML, CSS
// and JavaScript modules, embedded in the binary so that it works offline
// and needs no build step. The admin function serves it at /admin/ (see
// shared/functions/adminfn); it calls minifn's admin API with the admin token the
// merchant signs in with, and in `minifn dev` also drives the emulators.
//
// # Caveats
//
//   - The console calls the API on its own origin: deploy the admin function
//     behind the same domain as the others (one API gateway), as the deploy
//     files do.
//   - It holds no secret: the admin token is typed in and kept in the tab's
//     sessionStorage only.
package console

import (
	"embed"
	"io/fs"
)

//go:embed assets
var assets embed.FS

// Files returns the console's files, index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the directory is embedded above: this cannot happen
	}
	return sub
}
