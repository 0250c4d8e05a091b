package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// fault is what the next calls of one path do instead of answering normally.
type fault struct {
	count      int
	errcode    int
	delay      time.Duration
	httpStatus int
}

// api registers a WeChat API handler that is counted and can be faulted.
func (e *Emulator) api(mux *http.ServeMux, path string, h http.HandlerFunc) {
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		f, faulted := e.take(path)
		if !faulted {
			h(w, r)
			return
		}
		if f.delay > 0 && !sleep(r.Context(), f.delay) {
			return // the caller gave up
		}
		switch {
		case f.httpStatus != 0:
			http.Error(w, http.StatusText(f.httpStatus), f.httpStatus)
		case f.errcode != 0:
			e.writeErr(w, f.errcode, "system error")
		default:
			h(w, r)
		}
	})
}

// take counts a call of path and consumes one pending fault, if any.
func (e *Emulator) take(path string) (fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[path]++
	f := e.faults[path]
	if f == nil {
		return fault{}, false
	}
	if f.count--; f.count <= 0 {
		delete(e.faults, path)
	}
	return *f, true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Fail makes the next n calls of path answer errcode (e.g. -1, system busy).
func (e *Emulator) Fail(path string, n int, errcode int) {
	e.setFault(path, fault{count: n, errcode: errcode})
}

// Slow makes the next n calls of path wait d before answering normally.
func (e *Emulator) Slow(path string, n int, d time.Duration) {
	e.setFault(path, fault{count: n, delay: d})
}

func (e *Emulator) setFault(path string, f fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.count <= 0 {
		delete(e.faults, path)
		return
	}
	e.faults[path] = &f
}

// Calls returns how many calls path received (faulted ones included).
func (e *Emulator) Calls(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[path]
}

// controlRoutes registers the developer control API (see the package doc).
// It answers in minifn's error shape but does not use shared/httpapi: the
// emulator stays a leaf that any test package can import without a cycle.
func (e *Emulator) controlRoutes(mux *http.ServeMux) {
	mux.Handle("POST /_emulator/login-code", control(e.handleLoginCode))
	mux.Handle("POST /_emulator/users/{user}/block", control(e.handleBlock(true)))
	mux.Handle("POST /_emulator/users/{user}/unblock", control(e.handleBlock(false)))
	mux.Handle("POST /_emulator/faults", control(e.handleFaults))
	mux.Handle("GET /_emulator/calls", control(e.handleCalls))
	mux.Handle("GET /_emulator/messages", control(e.handleMessages))
	mux.Handle("POST /_emulator/risk", control(e.handleRisk))
	mux.Handle("GET /_emulator/content-words", control(e.handleContentWords))
	mux.Handle("PUT /_emulator/content-words", control(e.handleContentWords))
	e.shippingControlRoutes(mux)
	mux.Handle("POST /_emulator/push", control(e.handlePush))
	mux.Handle("GET /_emulator/pushes", control(e.handlePushes))
	mux.Handle("/_emulator/", control(func(w http.ResponseWriter, r *http.Request) error {
		return &controlError{http.StatusNotFound, "not_found", "no such emulator route"}
	}))
}

// control adapts a handler that returns its error.
type control func(w http.ResponseWriter, r *http.Request) error

func (f control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		ce, ok := err.(*controlError)
		if !ok {
			ce = &controlError{http.StatusInternalServerError, "internal", "internal error"}
		}
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		body.Error.Code, body.Error.Message = ce.code, ce.msg
		writeControl(w, ce.status, body)
	}
}

// controlError is a control API refusal.
type controlError struct {
	status    int
	code, msg string
}

func (e *controlError) Error() string { return e.code + ": " + e.msg }

func invalid(format string, args ...any) error {
	return &controlError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads a small JSON body.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(b, v) != nil {
		return invalid("the body must be a JSON object")
	}
	return nil
}

func (e *Emulator) handleLoginCode(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		User  string `json:"user"`
		AppID string `json:"appid"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkUser(req.User); err != nil {
		return err
	}
	appid, err := e.defaultApp(req.AppID)
	if err != nil {
		return err
	}
	code, openid := e.MintCode(appid, req.User)
	writeControl(w, http.StatusOK, map[string]any{
		"code": code, "openid": openid, "expires_in": int(codeTTL / time.Second),
	})
	return nil
}

// defaultApp resolves the appid of a login-code request.
func (e *Emulator) defaultApp(appid string) (string, error) {
	if appid != "" {
		if _, ok := e.apps[appid]; !ok {
			return "", invalid("appid %q is not one of the emulator's apps", appid)
		}
		return appid, nil
	}
	if _, ok := e.apps[DevAppID]; ok {
		return DevAppID, nil
	}
	if len(e.apps) == 1 {
		for id := range e.apps {
			return id, nil
		}
	}
	return "", invalid("appid is required: the emulator serves several apps")
}

// checkUser accepts test user names of 1 to 64 printable characters.
func checkUser(user string) error {
	if user == "" || len(user) > 64 || strings.ContainsFunc(user, func(r rune) bool {
		return !unicode.IsPrint(r) || r == '/'
	}) {
		return invalid("user must be 1 to 64 printable characters without '/'")
	}
	return nil
}

func (e *Emulator) handleBlock(block bool) control {
	return func(w http.ResponseWriter, r *http.Request) error {
		user := r.PathValue("user")
		if err := checkUser(user); err != nil {
			return err
		}
		e.setBlocked(user, block)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (e *Emulator) handleFaults(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Path       string `json:"path"`
		Count      int    `json:"count"`
		Errcode    int    `json:"errcode"`
		DelayMS    int    `json:"delay_ms"`
		HTTPStatus int    `json:"http_status"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	switch {
	case !strings.HasPrefix(req.Path, "/") || strings.HasPrefix(req.Path, "/_emulator/"):
		return invalid("path must be a WeChat API path such as /sns/jscode2session")
	case req.Count < 0 || req.Count > 10_000:
		return invalid("count must be 0 (clear) to 10000")
	case req.DelayMS < 0 || req.DelayMS > 600_000:
		return invalid("delay_ms must be 0 to 600000")
	case req.HTTPStatus != 0 && (req.HTTPStatus < 400 || req.HTTPStatus > 599):
		return invalid("http_status must be 400 to 599")
	}
	e.setFault(req.Path, fault{count: req.Count, errcode: req.Errcode,
		delay: time.Duration(req.DelayMS) * time.Millisecond, httpStatus: req.HTTPStatus})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (e *Emulator) handleCalls(w http.ResponseWriter, r *http.Request) error {
	e.mu.Lock()
	calls := make(map[string]int, len(e.calls))
	for p, n := range e.calls {
		calls[p] = n
	}
	e.mu.Unlock()
	writeControl(w, http.StatusOK, map[string]any{"calls": calls})
	return nil
}
