package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/requestid"
)

var (
	ErrNotFound         = apperr.New(apperr.NotFound, "not_found", "no such route")
	ErrMethodNotAllowed = apperr.New(apperr.MethodNotAllowed, "method_not_allowed", "method not allowed on this route")
)

// Router is an explicit http.ServeMux (Go 1.22 patterns, "GET /orders/{id}")
// whose misses are answered in the contract's JSON shape, and which recovers
// from panics with a 500 instead of dropping the connection.
type Router struct {
	mux *http.ServeMux
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// Handle registers h for pattern.
func (rt *Router) Handle(pattern string, h http.Handler) { rt.mux.Handle(pattern, h) }

// HandleFunc registers a Func for pattern.
func (rt *Router) HandleFunc(pattern string, f Func) { rt.mux.Handle(pattern, f) }

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()),
				"request_id", requestid.From(r.Context()))
			Error(w, r, apperr.ErrInternal)
		}
	}()
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		rt.miss(w, r, h)
		return
	}
	accesslog.SetRoute(r.Context(), pattern)
	rt.mux.ServeHTTP(w, r)
}

// miss answers a request no pattern matched: ServeMux knows whether the path
// exists under another method (405 with Allow) or not at all (404, or a
// redirect for a cleaned path, which we pass through).
func (rt *Router) miss(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		Error(w, r, ErrMethodNotAllowed)
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		w.Header().Set("Location", probe.header.Get("Location"))
		w.WriteHeader(probe.status)
	default:
		Error(w, r, ErrNotFound)
	}
}

// statusProbe records what ServeMux's own miss handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(s int) {
	if p.status == 0 {
		p.status = s
	}
}

// RouterOf returns a router serving routes, keyed by their patterns.
func RouterOf(routes map[string]http.Handler) *Router {
	rt := NewRouter()
	for pattern, h := range routes {
		rt.Handle(pattern, h)
	}
	return rt
}
