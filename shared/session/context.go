package session

import (
	"context"

	"github.com/minifn/minifn/shared/accesslog"
)

type userKey struct{}

// WithUser returns ctx carrying the authenticated user's openid, and puts
// its hash on the request's access line.
func WithUser(ctx context.Context, openid string) context.Context {
	accesslog.SetUser(ctx, openid)
	return context.WithValue(ctx, userKey{}, openid)
}

// UserFrom returns the openid that the Require middleware put in ctx.
func UserFrom(ctx context.Context) (openid string, ok bool) {
	openid, ok = ctx.Value(userKey{}).(string)
	return openid, ok && openid != ""
}

// Caller returns the openid that the Require middleware put in ctx, or
// ErrUnauthenticated: a handler behind RequireAny sees no user for the
// admin token.
func Caller(ctx context.Context) (string, error) {
	if openid, ok := UserFrom(ctx); ok {
		return openid, nil
	}
	return "", ErrUnauthenticated
}

type adminKey struct{}

// WithAdmin returns ctx marked as carrying the merchant's admin token.
func WithAdmin(ctx context.Context) context.Context {
	return context.WithValue(ctx, adminKey{}, true)
}

// IsAdmin reports whether the request was made with the admin token.
func IsAdmin(ctx context.Context) bool {
	ok, _ := ctx.Value(adminKey{}).(bool)
	return ok
}
