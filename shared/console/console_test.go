package console_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/console"
	"github.com/minifn/minifn/shared/functions/adminfn"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := adminfn.Console(console.Files())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestConsoleServesIndexWithPolicy(t *testing.T) {
	srv := serve(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/", nil)
	res, body := fetch(t, req)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /admin/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `<script type="module" src="app.js">`) {
		t.Errorf("index.html does not load app.js")
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no nosniff")
	}

	// Revalidation: the same ETag answers 304 with no body.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/admin/app.js", nil)
	res, _ = fetch(t, req)
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET app.js: %d etag %q type %q", res.StatusCode, etag, res.Header.Get("Content-Type"))
	}
	req.Header.Set("If-None-Match", etag)
	if res, body := fetch(t, req); res.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("If-None-Match: %d %q, want 304", res.StatusCode, body)
	}
}

func TestConsoleRedirectsAndRefuses(t *testing.T) {
	srv := serve(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin", nil)
	if res, _ := fetch(t, req); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "admin/" {
		t.Errorf("GET /admin: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/admin/missing.js", 404, "not_found"},
		{"GET", "/admin/sub/app.js", 404, "not_found"},
		{"POST", "/admin/", 405, "method_not_allowed"},
		{"GET", "/campaigns", 404, "not_found"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		res, body := fetch(t, req)
		var e struct{ Error struct{ Code string } }
		if err := json.Unmarshal([]byte(body), &e); err != nil || res.StatusCode != tc.status || e.Error.Code != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, res.StatusCode, body, tc.status, tc.code)
		}
	}
}

// TestConsoleFilesResolve checks that every module the console imports and
// every file index.html names is embedded, and that nothing is loaded from
// another origin (the console must work offline).
func TestConsoleFilesResolve(t *testing.T) {
	files := console.Files()
	ref := regexp.MustCompile(`(?:from |import\()\s*'\./([^']+)'|(?:src|href)="([^"#:]+)"`)
	remote := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(\s*['"]?https?:`)
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(files, p)
		// An SVG's xmlns names a namespace; nothing is fetched from it.
		// Nor from the same name given to createElementNS (home.js's chart).
		b = []byte(strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, ""))
		b = []byte(strings.ReplaceAll(string(b), `'http://www.w3.org/2000/svg'`, ""))
		if loc := remote.FindIndex(b); loc != nil {
			t.Errorf("%s loads something remote: %q", p, b[loc[0]:loc[1]])
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			name := m[1] + m[2]
			if _, err := fs.Stat(files, name); err != nil {
				t.Errorf("%s refers to %s, which is not embedded", p, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
