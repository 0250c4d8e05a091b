// Package apperr defines the errors minifn's domain packages return: a kind
// (what went wrong, in HTTP-free terms), a stable snake_case code that clients
// may branch on, and a message for humans.
//
// Only shared/httpapi turns a Kind into an HTTP status, so domain code never
// speaks HTTP. Any error that is not an *Error is Internal: its text is logged
// and never shown to a client.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error. Append only: never reorder, since kinds are compared by value.
type Kind uint8

const (
	Internal         Kind = iota // a bug or an unexpected failure; shown as "internal error"
	Invalid                      // the request is malformed or a field is invalid
	Unauthenticated              // no credentials, or bad ones
	Forbidden                    // the caller may not do this
	NotFound                     // the thing does not exist (or is not the caller's)
	MethodNotAllowed             // the route exists, the method does not
	Conflict                     // the state forbids it: sold out, already used, …
	Gone                         // it existed but is over: campaign ended, coupon expired
	TooLarge                     // the body is over the limit
	UnsupportedMedia             // the body is not JSON
	RateLimited                  // too many calls; RetryAfter says when to retry
	Upstream                     // WeChat or WeChat Pay failed or timed out
	Unavailable                  // our own store is unavailable; RetryAfter says when to retry
	Unprocessable                // well formed, but refused as it stands: a reused Idempotency-Key, risky content
)

// Error is a domain error with a client-facing code.
type Error struct {
	Kind       Kind
	Code       string        // snake_case, stable: clients branch on it
	Message    string        // human text; never holds a secret
	RetryAfter time.Duration // for RateLimited and Unavailable
	Err        error         // the cause, for logs; never shown to clients

	// of is the sentinel this error is a copy of (WithMessage, Wrap), or
	// nil when the error is itself a sentinel (New, Errorf, a literal).
	of *Error
}

// ErrInternal is returned (and answered 500) when a request failed on our
// side: a panic, a bug, an unexpected failure. Clients see no more than its
// message; the cause goes to the logs (Wrap it).
var ErrInternal = New(Internal, "internal", "internal error")

// New returns an error of the given kind and code.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Errorf is New with a formatted message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e itself or the sentinel e was copied from
// (by WithMessage or Wrap, at any depth), so that errors.Is(err,
// coupon.ErrSoldOut) holds for a copy with a more precise message.
//
// Matching is by identity, never by (Kind, Code): two sentinels of different
// packages that share a code (order.ErrSoldOut and coupon.ErrSoldOut, or
// coupon.ErrBusy and store.ErrConditionFailed) are different errors. To test
// a class of errors, use KindOf or HasCode.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && (e == t || e.of != nil && e.of == t)
}

// sentinel returns the sentinel e stands for: e itself or what it copies.
func (e *Error) sentinel() *Error {
	if e.of != nil {
		return e.of
	}
	return e
}

// WithMessage returns a copy of e with another message: sentinels stay
// shared, and the copy still matches e (and e's own sentinel) under errors.Is.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	c.of = e.sentinel()
	return &c
}

// WithRetryAfter returns a copy of e that tells the client when to retry; it
// still matches e (and e's own sentinel) under errors.Is.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	c.of = e.sentinel()
	return &c
}

// Wrap returns a copy of e that records cause for the logs; it still matches
// e (and e's own sentinel) under errors.Is.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	c.of = e.sentinel()
	return &c
}

// From returns err as an *Error: itself if it is (or wraps) one, else an
// Internal error that keeps err as its cause.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Code: "internal", Message: "internal error", Err: err}
}

// KindOf returns the kind of err (Internal for foreign errors).
func KindOf(err error) Kind { return From(err).Kind }

// CodeOf returns the code of err ("internal" for foreign errors).
func CodeOf(err error) string { return From(err).Code }

// HasCode reports whether err is (or wraps) an *Error with this code, whoever
// declared it: the explicit way to test a class of errors that errors.Is,
// which matches one sentinel, does not cover.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Invalidf is the common 400: a named field is missing or malformed.
func Invalidf(format string, args ...any) *Error {
	return Errorf(Invalid, "invalid_request", format, args...)
}
