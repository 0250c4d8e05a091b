// Package accesslog writes the one structured line every request ends with,
// and sets up the JSON log handler a function binary logs through.
//
// # The access line
//
// The platform layer (HTTP mode and the Lambda/SCF adapters) starts an Entry
// when a request arrives (Start) and writes it when the answer is sent
// (Entry.Log). In between, the layers that know a field fill it in through
// the request's context: the function's name (WithFunction), the router's
// pattern (SetRoute: "POST /orders/{id}/refund", never the raw path, so
// lines group by route), the caller's openid, kept only as a hash
// (SetUser), and the error code and cause of a failed request (SetError,
// called by httpapi.Error). So a request logs one line, at ERROR when it
// answered 5xx (with its cause), else at INFO (WARN for a refused pay notify):
//
//	{"time":"…","level":"INFO","msg":"request","request_id":"…","function":"orders",
//	 "method":"POST","route":"POST /orders/{id}/refund","status":200,"latency_ms":12.4,
//	 "user":"3f2a9c0d51e7"}
//
// Secrets never go into an Entry: the user is a hash, the cause is an
// error's message, and no header, query or body is logged.
//
// # Where the lines go
//
// NewHandler writes one JSON object per line, which CloudWatch Logs Insights
// and Tencent Cloud CLS both take as is: Lambda and SCF send a function's
// standard output to them, line by line (app.Main logs there). See README,
// "Logs".
package accesslog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// NewHandler returns the JSON handler of a function binary: one object a
// line on w, INFO and above. It does no work until a line is logged.
func NewHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
}

// Entry is what the access line of one request says. Its setters are safe
// to call from several goroutines and on a nil Entry (no access line, as in
// a handler tested on its own).
type Entry struct {
	mu         sync.Mutex
	start      time.Time
	id         string
	invocation string
	method     string
	function   string
	route      string
	user       string
	code       string
	err        error
}

type key struct{}

// Start returns ctx carrying a new Entry for the request id (the cloud's,
// see shared/requestid) and method, timed from now. invocation is the
// platform's invocation id when it differs from id (Lambda's AwsRequestID,
// SCF's request id, behind an API Gateway request id); else "".
func Start(ctx context.Context, id, invocation, method string) (context.Context, *Entry) {
	e := &Entry{start: time.Now(), id: id, method: method}
	if invocation != id {
		e.invocation = invocation
	}
	return context.WithValue(ctx, key{}, e), e
}

// SetInvocation records the platform's invocation id when it is known only
// after Start (an SCF web function's X-Scf-Request-Id header).
func SetInvocation(ctx context.Context, id string) {
	if e := From(ctx); e != nil && id != e.id {
		e.mu.Lock()
		e.invocation = id
		e.mu.Unlock()
	}
}

// From returns the Entry of ctx, or nil.
func From(ctx context.Context) *Entry {
	e, _ := ctx.Value(key{}).(*Entry)
	return e
}

// WithFunction names the function serving ctx's request. The first name
// set wins: a function's router is mounted under dev's (or the platform's).
func WithFunction(ctx context.Context, name string) {
	if e := From(ctx); e != nil {
		e.mu.Lock()
		if e.function == "" {
			e.function = name
		}
		e.mu.Unlock()
	}
}

// SetRoute records the pattern that matched ctx's request. The innermost
// router's pattern is the one kept: dev mounts a function's router on its own.
func SetRoute(ctx context.Context, pattern string) {
	if e := From(ctx); e != nil {
		e.mu.Lock()
		e.route = pattern
		e.mu.Unlock()
	}
}

// SetUser records the caller, as HashOpenID of its openid.
func SetUser(ctx context.Context, openid string) {
	if e := From(ctx); e != nil && openid != "" {
		h := HashOpenID(openid)
		e.mu.Lock()
		e.user = h
		e.mu.Unlock()
	}
}

// SetError records the error code answered and its cause (nil for none):
// httpapi.Error gives the cause of a failure of ours (5xx) or of a client
// that went away; the pay notify, of every refusal. It reports whether an access
// line will carry them, so that the caller logs them itself when not.
func SetError(ctx context.Context, code string, cause error) bool {
	e := From(ctx)
	if e == nil {
		return false
	}
	e.mu.Lock()
	e.code, e.err = code, cause
	e.mu.Unlock()
	return true
}

// HashOpenID is the first 12 hex digits of the SHA-256 of openid: enough to
// follow one user through the logs, not the openid itself. An operator who
// knows an openid finds its lines with
// printf %s "$OPENID" | sha256sum | cut -c1-12.
func HashOpenID(openid string) string {
	sum := sha256.Sum256([]byte(openid))
	return hex.EncodeToString(sum[:6])
}

// Log writes the access line for an answer of status: at ERROR for a 5xx,
// at WARN for a 4xx that recorded a cause (a refused pay notify), else at
// INFO (a 499, client gone, included).
func (e *Entry) Log(ctx context.Context, status int) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs, slog.String("request_id", e.id))
	if e.invocation != "" {
		attrs = append(attrs, slog.String("invocation_id", e.invocation))
	}
	attrs = append(attrs,
		slog.String("function", e.function),
		slog.String("method", e.method),
		slog.String("route", e.route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(time.Since(e.start).Microseconds())/1000),
	)
	if e.user != "" {
		attrs = append(attrs, slog.String("user", e.user))
	}
	if e.code != "" {
		attrs = append(attrs, slog.String("code", e.code))
	}
	if e.err != nil {
		attrs = append(attrs, slog.String("err", e.err.Error()))
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400 && status < 499 && e.err != nil:
		level = slog.LevelWarn // a refusal whose cause is worth a look (a pay notify's)
	}
	slog.LogAttrs(ctx, level, "request", attrs...)
}

// Named returns h with its requests' access lines naming function name.
func Named(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WithFunction(r.Context(), name)
		h.ServeHTTP(w, r)
	})
}
