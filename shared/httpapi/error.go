// Package httpapi holds the HTTP conventions every minifn handler shares:
// the one table that turns error kinds into statuses, the error shape, JSON
// decoding with the contract's limits, and the router that answers unknown
// routes in JSON. The handlers themselves live with their functions, one
// package per feature under shared/functions, so that a function's binary
// links only its own feature (see shared/functions).
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/requestid"
)

// statusOf is the only place where an error kind becomes an HTTP status.
var statusOf = map[apperr.Kind]int{
	apperr.Internal:         http.StatusInternalServerError,
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unauthenticated:  http.StatusUnauthorized,
	apperr.Forbidden:        http.StatusForbidden,
	apperr.NotFound:         http.StatusNotFound,
	apperr.MethodNotAllowed: http.StatusMethodNotAllowed,
	apperr.Conflict:         http.StatusConflict,
	apperr.Gone:             http.StatusGone,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.RateLimited:      http.StatusTooManyRequests,
	apperr.Upstream:         http.StatusBadGateway,
	apperr.Unavailable:      http.StatusServiceUnavailable,
	apperr.Unprocessable:    http.StatusUnprocessableEntity,
}

// Status returns the HTTP status for err.
func Status(err error) int {
	if s, ok := statusOf[apperr.KindOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error writes err in the contract's shape. Internal errors are logged with
// their cause and shown only as "internal error"; upstream and store errors
// are logged too, since their causes are ours to investigate. The code, and
// the cause of a 5xx, go on the request's access line (shared/accesslog),
// which logs at ERROR for a 5xx; a request without one (a handler run on its
// own) logs the failure on a line of its own.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	if gone(r, err) {
		// The client hung up (or the server is shutting down): nobody reads
		// this answer and nothing failed on our side, so it is no 5xx and
		// no ERROR line to alert on. 499 is nginx's "client closed request".
		if !accesslog.SetError(r.Context(), "client_closed_request", err) {
			slog.InfoContext(r.Context(), "client went away", "method", r.Method, "path", r.URL.Path,
				"err", err, "request_id", requestid.From(r.Context()))
		}
		JSON(w, StatusClientClosed, errorOf("client_closed_request", "the client closed the request"))
		return
	}
	e := apperr.From(err)
	status := Status(e)
	var cause error
	if status >= 500 {
		cause = err
	}
	if !accesslog.SetError(r.Context(), e.Code, cause) && status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"status", status, "code", e.Code, "err", err, "request_id", requestid.From(r.Context()))
	}
	if e.RetryAfter > 0 {
		secs := int(e.RetryAfter.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	JSON(w, status, errorOf(e.Code, e.Message))
}

// StatusClientClosed answers a request whose client went away.
const StatusClientClosed = 499

func errorOf(code, message string) errorBody {
	var body errorBody
	body.Error.Code, body.Error.Message = code, message
	return body
}

// gone reports whether err comes from the request's own context being
// canceled, rather than from a failure of ours.
func gone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}

// Func is a handler that returns its error instead of writing it.
type Func func(w http.ResponseWriter, r *http.Request) error

func (f Func) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		Error(w, r, err)
	}
}
