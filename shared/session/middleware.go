package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
)

// Require lets through only requests with a valid user token, and puts the
// token's openid in the request context (UserFrom).
func (s *Sessions) Require(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			fail(w, r, ErrUnauthenticated)
			return
		}
		openid, err := s.Verify(tok)
		if err != nil {
			fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(WithUser(r.Context(), openid)))
	})
}

// RequireAdmin lets through only requests with the admin token, and marks
// the context (IsAdmin). With no admin token configured every request is
// refused, so an unset MINIFN_ADMIN_TOKEN can never open the admin API.
func (s *Sessions) RequireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hasAd {
			fail(w, r, ErrForbidden.WithMessage("the admin API is disabled: MINIFN_ADMIN_TOKEN is not set"))
			return
		}
		tok, ok := bearer(r)
		if !ok {
			fail(w, r, ErrUnauthenticated.WithMessage("this route needs the admin token as Authorization: Bearer"))
			return
		}
		if !s.isAdmin(tok) {
			fail(w, r, ErrForbidden)
			return
		}
		h.ServeHTTP(w, r.WithContext(WithAdmin(r.Context())))
	})
}

// RequireAny lets through requests with either the admin token (IsAdmin) or
// a valid user token (UserFrom), for routes both may call (coupon redeem).
func (s *Sessions) RequireAny(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			fail(w, r, ErrUnauthenticated)
			return
		}
		if s.isAdmin(tok) {
			h.ServeHTTP(w, r.WithContext(WithAdmin(r.Context())))
			return
		}
		openid, err := s.Verify(tok)
		if err != nil {
			fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(WithUser(r.Context(), openid)))
	})
}

// AllowAdmin marks requests that carry the admin token (IsAdmin) and lets
// every other request through unchanged, whatever it carries: for public
// routes that show the admin more (GET /products lists inactive products too).
func (s *Sessions) AllowAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := bearer(r); ok && s.isAdmin(tok) {
			r = r.WithContext(WithAdmin(r.Context()))
		}
		h.ServeHTTP(w, r)
	})
}

// isAdmin compares hashes in constant time, so neither the token's bytes
// nor its length leak through timing.
func (s *Sessions) isAdmin(tok string) bool {
	got := sha256.Sum256([]byte(tok))
	return s.hasAd && subtle.ConstantTimeCompare(got[:], s.admin[:]) == 1
}

// bearer returns the token of an "Authorization: Bearer …" header; the
// scheme is case-insensitive (RFC 7235).
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// fail answers an authentication error through httpapi.Error, the one
// table of statuses (401, 403), adding the WWW-Authenticate challenge RFC
// 6750 §3 asks of a 401.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	if apperr.KindOf(err) == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="minifn"`)
	}
	httpapi.Error(w, r, err)
}
