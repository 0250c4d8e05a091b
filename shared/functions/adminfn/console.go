package adminfn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
)

// consolePolicy keeps the console to its own files and its own origin: no
// inline script, no third-party anything, no framing. Images may be blob:
// URLs (QR codes fetched with the admin token) and camera frames.
const consolePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// consoleFile is one embedded file, read once.
type consoleFile struct {
	body  []byte
	ctype string
	etag  string
}

// consoleTypes are the console's file types. A fixed table, not
// mime.TypeByExtension: that reads the system's mime files on first use (a
// cold-start cost) and answers differently from machine to machine.
// errNoFile is returned for a console path that names no embedded file.
var errNoFile = apperr.New(apperr.NotFound, "not_found", "no such console file")

var consoleTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
	".json": "application/json", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
}

// Console serves the merchant console (package console) from files:
// GET /admin redirects to admin/ (relative, so that a path prefix in front
// is kept), GET /admin/ is index.html, GET
// /admin/{file} the other files. Files are read and hashed once, on the
// first request rather than at start, so that a browser revalidates with
// If-None-Match and gets 304.
func Console(files fs.FS) (http.Handler, error) {
	if _, err := fs.Stat(files, "index.html"); err != nil {
		return nil, err
	}
	load := sync.OnceValues(func() (map[string]consoleFile, error) { return readConsole(files) })
	rt := httpapi.NewRouter()
	// The Location is relative ("admin/", resolved against …/admin): behind
	// a gateway stage or path prefix the browser lands on
	// <prefix>/admin/, where an absolute "/admin/" would drop the prefix.
	// http.Redirect would make it absolute, so the header is written here.
	rt.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Location", "admin/")
		w.WriteHeader(http.StatusMovedPermanently)
		return nil
	})
	rt.HandleFunc("GET /admin/", func(w http.ResponseWriter, r *http.Request) error {
		name := strings.TrimPrefix(r.URL.Path, "/admin/")
		if name == "" {
			name = "index.html"
		}
		byPath, err := load()
		if err != nil {
			return err
		}
		f, ok := byPath[name]
		if !ok {
			return errNoFile
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache") // revalidate: a deploy must show at once
		h.Set("Content-Security-Policy", consolePolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
		return nil
	})
	return rt, nil
}

// readConsole reads and hashes every file of the console.
func readConsole(files fs.FS) (map[string]consoleFile, error) {
	byPath := map[string]consoleFile{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct, ok := consoleTypes[path.Ext(p)]
		if !ok {
			ct = http.DetectContentType(b)
		}
		byPath[p] = consoleFile{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return byPath, err
}
