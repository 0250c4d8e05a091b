// Package bridge holds what the event adapters (awslambda, scf) share: running
// an http.Handler on a request built from an event into a buffered response,
// running a job, and the errors an event can end in. Both adapters turn these
// errors into a platform error (Lambda's /error, SCF's InvokeResponse.Error),
// so the platform reports the invocation as failed while the process lives on.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/requestid"
)

var (
	// ErrNoHandler is returned for an HTTP event sent to a timer-only function.
	ErrNoHandler = errors.New("this function serves no HTTP routes, only timer events")
	// ErrNoJob is returned for a timer event sent to a function without a job.
	ErrNoJob = errors.New("this function has no timer job")
	// ErrUnknownEvent is returned for an event that is not JSON or not of a kind we serve.
	ErrUnknownEvent = errors.New("unsupported event")
)

// RequestIDHeader carries the request id back to the caller in every mode.
const RequestIDHeader = "X-Request-Id"

// Serve runs h on r with id as its request id and returns the buffered
// response, and logs its access line (shared/accesslog) naming invocation,
// the platform's invocation id, when it differs from id. A panic in h becomes a 500 in the contract's JSON shape: on an
// event platform a panic must not take the warm process down with it.
func Serve(h http.Handler, r *http.Request, id, invocation string) (rec *Recorder) {
	rec = NewRecorder()
	rec.Header().Set(RequestIDHeader, id)
	ctx, entry := accesslog.Start(requestid.With(r.Context(), id), id, invocation, r.Method)
	r = r.WithContext(ctx)
	defer func() {
		if v := recover(); v != nil {
			slog.ErrorContext(r.Context(), "handler panic", "value", v, "stack", string(debug.Stack()), "request_id", id)
			rec.Reset()
			rec.Header().Set(RequestIDHeader, id)
			httpapi.Error(rec, r, apperr.ErrInternal)
		}
		entry.Log(ctx, rec.Status())
	}()
	h.ServeHTTP(rec, r)
	return rec
}

// RunJob runs job, turning a panic into an error so that the platform marks
// the timer invocation failed (and may retry it) instead of losing the process.
func RunJob(ctx context.Context, job func(context.Context) error, id string) (err error) {
	if job == nil {
		return ErrNoJob
	}
	ctx = requestid.With(ctx, id)
	defer func() {
		if v := recover(); v != nil {
			slog.ErrorContext(ctx, "job panic", "value", v, "stack", string(debug.Stack()), "request_id", id)
			err = fmt.Errorf("job panicked: %v", v)
		}
	}()
	return job(ctx)
}
