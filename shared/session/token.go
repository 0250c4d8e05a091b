// Package session carries who is calling through a request: the signed
// session tokens that POST /login issues, the middleware that checks them
// (and the merchant's admin token), and the context values handlers read.
//
// # Tokens
//
// A token is two unpadded base64url parts joined by a dot:
//
//	body = version (1 byte, 1) | key id (4 bytes) | expiry (8 bytes, Unix seconds, big-endian) | openid
//	mac  = HMAC-SHA256(secret, "minifn-session\x00" | body)
//
// The key id is the first 4 bytes of SHA-256 over the secret (behind a
// label), so a token names the secret that signed it: after a rotation the
// previous secret can still be accepted for one TTL (WithPrevious). Verifying
// reads no store, so every function instance checks a token on its own.
//
// # Caveats
//
//   - A token cannot be revoked before it expires: keep MINIFN_SESSION_TTL
//     short (2h by default) and rotate the secret to log everyone out.
//   - The openid is readable by whoever holds the token (it is signed, not
//     encrypted). That is fine: the Mini-Program receives it from /login anyway.
package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
)

// MinSecret is the shortest secret New accepts: HMAC-SHA256 wants a key as
// long as its output.
const MinSecret = 32

// maxOpenID bounds the openid a token may carry; WeChat's are 28 characters.
const maxOpenID = 128

const (
	version   = 1
	kidLen    = 4
	headerLen = 1 + kidLen + 8
	macLabel  = "minifn-session\x00"
	kidLabel  = "minifn-session-kid\x00"
)

var (
	// ErrUnauthenticated is answered when a route needs credentials and the
	// request carries none.
	ErrUnauthenticated = apperr.New(apperr.Unauthenticated, "unauthenticated", "this route needs an Authorization: Bearer token")

	// ErrInvalidToken is answered for a token that is malformed, truncated,
	// forged, signed with an unknown key, or expired.
	ErrInvalidToken = apperr.New(apperr.Unauthenticated, "invalid_token", "the session token is invalid; log in again")

	// ErrForbidden is answered on admin routes for a wrong admin token, or for
	// any token when no admin token is configured.
	ErrForbidden = apperr.New(apperr.Forbidden, "forbidden", "this route needs the admin token")
)

var b64 = base64.RawURLEncoding

// key is one accepted signing secret.
type key struct {
	id     [kidLen]byte
	secret []byte
}

func newKey(secret []byte) key {
	k := key{secret: bytes.Clone(secret)}
	h := sha256.Sum256(append([]byte(kidLabel), secret...))
	copy(k.id[:], h[:kidLen])
	return k
}

// Sessions issues and verifies session tokens and holds the admin token.
// It is safe for concurrent use once built.
type Sessions struct {
	keys  []key // keys[0] signs; all verify
	ttl   time.Duration
	admin [sha256.Size]byte // SHA-256 of the admin token, so comparing takes the same time for every length
	hasAd bool
	now   func() time.Time
}

// New returns Sessions that sign with secret (at least MinSecret bytes; the
// config layer checks that) for ttl. adminToken "" disables the admin API. A
// nil now means time.Now.
func New(secret []byte, ttl time.Duration, adminToken string, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	s := &Sessions{keys: []key{newKey(secret)}, ttl: ttl, now: now}
	if adminToken != "" {
		s.admin, s.hasAd = sha256.Sum256([]byte(adminToken)), true
	}
	return s
}

// WithPrevious returns a copy of s that also accepts tokens signed with the
// given earlier secrets, for a rotation without logging everyone out. It
// still signs with the current secret only.
func (s *Sessions) WithPrevious(secrets ...[]byte) *Sessions {
	c := *s
	c.keys = append([]key{}, s.keys...)
	for _, sec := range secrets {
		if len(sec) > 0 {
			c.keys = append(c.keys, newKey(sec))
		}
	}
	return &c
}

// TTL returns how long issued tokens live.
func (s *Sessions) TTL() time.Duration { return s.ttl }

// Issue returns a token for openid and the time it expires (whole seconds).
func (s *Sessions) Issue(openid string) (token string, expiresAt time.Time) {
	expiresAt = s.now().Add(s.ttl).Truncate(time.Second).UTC()
	k := s.keys[0]
	body := make([]byte, headerLen, headerLen+len(openid))
	body[0] = version
	copy(body[1:], k.id[:])
	binary.BigEndian.PutUint64(body[1+kidLen:], uint64(expiresAt.Unix()))
	body = append(body, openid...)
	return b64.EncodeToString(body) + "." + b64.EncodeToString(sign(k.secret, body)), expiresAt
}

// Verify returns the openid a valid, unexpired token was issued for, or an
// error matching ErrInvalidToken.
func (s *Sessions) Verify(token string) (openid string, err error) {
	bodyPart, macPart, ok := strings.Cut(token, ".")
	// encoding/base64 skips \r and \n: refuse them, so that one token has one spelling.
	if !ok || len(token) > 512 || strings.ContainsAny(token, "\r\n") {
		return "", ErrInvalidToken.WithMessage("the session token is malformed")
	}
	body, err1 := b64.DecodeString(bodyPart)
	mac, err2 := b64.DecodeString(macPart)
	if err1 != nil || err2 != nil || len(body) <= headerLen || body[0] != version || len(mac) != sha256.Size {
		return "", ErrInvalidToken.WithMessage("the session token is malformed")
	}
	k, ok := s.keyFor(body[1 : 1+kidLen])
	if !ok {
		return "", ErrInvalidToken.WithMessage("the session token was signed with an unknown key; log in again")
	}
	if !hmac.Equal(mac, sign(k.secret, body)) {
		return "", ErrInvalidToken.WithMessage("the session token's signature is invalid")
	}
	exp := int64(binary.BigEndian.Uint64(body[1+kidLen:]))
	if !s.now().Before(time.Unix(exp, 0)) {
		return "", ErrInvalidToken.WithMessage("the session token has expired; log in again")
	}
	openid = string(body[headerLen:])
	if len(openid) > maxOpenID {
		return "", ErrInvalidToken.WithMessage("the session token is malformed")
	}
	return openid, nil
}

func (s *Sessions) keyFor(id []byte) (key, bool) {
	for _, k := range s.keys {
		if bytes.Equal(k.id[:], id) {
			return k, true
		}
	}
	return key{}, false
}

func sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(macLabel))
	m.Write(body)
	return m.Sum(nil)
}
