package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/requestid"
)

const jobPath = "/_minifn/job"

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

// withRequestID gives each request its id and its access line
// (shared/accesslog), and turns a panic before the
// response started into a 500 in the contract's shape. After the response
// started, the connection is aborted, as net/http itself would.
func withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = requestid.New()
		}
		w.Header().Set("X-Request-Id", id)
		ctx, entry := accesslog.Start(requestid.With(r.Context(), id), id, "", r.Method)
		r = r.WithContext(ctx)
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				entry.Log(ctx, tw.status())
				return
			}
			if v == http.ErrAbortHandler || tw.started {
				accesslog.SetError(ctx, "aborted", fmt.Errorf("panic after the answer started: %v", v))
				entry.Log(ctx, tw.status())
				panic(http.ErrAbortHandler)
			}
			slog.ErrorContext(r.Context(), "handler panic", "value", v, "stack", string(debug.Stack()), "request_id", id)
			httpapi.Error(tw, r, apperr.ErrInternal)
			entry.Log(ctx, tw.status())
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

// trackingWriter notes whether the response has started, and its status.
type trackingWriter struct {
	http.ResponseWriter
	started bool
	code    int
}

func (t *trackingWriter) WriteHeader(status int) {
	if !t.started {
		t.code = status
	}
	t.started = true
	t.ResponseWriter.WriteHeader(status)
}

// status is the status answered: 200 when the handler wrote without one.
func (t *trackingWriter) status() int {
	if t.code == 0 {
		return http.StatusOK
	}
	return t.code
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.started = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush, deadlines).
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
