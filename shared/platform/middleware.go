package platform

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/requestid"
)

const jobPath = "/_minifn/job"

var errInternal = apperr.New(apperr.Internal, "internal", "internal error")

// functionHandler serves f in HTTP mode: its routes, and its job on
// POST /_minifn/job when jobRoute is set (loopback listeners only).
func functionHandler(f Function, jobRoute bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case jobRoute && f.Job != nil && r.URL.Path == jobPath && r.Method == http.MethodPost:
			runJob(w, r, f.Job)
		case f.Handler != nil:
			f.Handler.ServeHTTP(w, r)
		default:
			httpapi.Error(w, r, httpapi.ErrNotFound)
		}
	})
}

func runJob(w http.ResponseWriter, r *http.Request, job func(context.Context) error) {
	if err := job(r.Context()); err != nil {
		httpapi.Error(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// stripBasePath removes base from the path of every request, like
// http.StripPrefix, but answers requests outside base in the contract's shape.
func stripBasePath(base string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := cutBase(r.URL.Path, base)
		rp, rok := cutBase(r.URL.RawPath, base)
		if !ok || (r.URL.RawPath != "" && !rok) {
			httpapi.Error(w, r, httpapi.ErrNotFound)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = p, rp
		h.ServeHTTP(w, r2)
	})
}

// cutBase returns path without base, if path is base or lies under it.
func cutBase(path, base string) (string, bool) {
	rest, ok := strings.CutPrefix(path, base)
	switch {
	case !ok:
		return path, false
	case rest == "":
		return "/", true
	case rest[0] == '/':
		return rest, true
	}
	return path, false
}

// withRequestID gives each request its id and turns a panic before the
// response started into a 500 in the contract's shape. After the response
// started, the connection is aborted, as net/http itself would.
func withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = requestid.New()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(requestid.With(r.Context(), id))
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler || tw.started {
				panic(http.ErrAbortHandler)
			}
			slog.ErrorContext(r.Context(), "handler panic", "value", v, "stack", string(debug.Stack()), "request_id", id)
			httpapi.Error(w, r, errInternal)
		}()
		h.ServeHTTP(tw, r)
	})
}

// saneID accepts a caller's request id only if it is short and plain, so it
// can go into logs as is.
func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// trackingWriter notes whether the response has started.
type trackingWriter struct {
	http.ResponseWriter
	started bool
}

func (t *trackingWriter) WriteHeader(status int) {
	t.started = true
	t.ResponseWriter.WriteHeader(status)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.started = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush, deadlines).
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
