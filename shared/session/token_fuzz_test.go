package session_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/session"
)

var fuzzSecret = []byte("fuzz-secret-0123456789abcdef0123456789")

// FuzzVerify feeds Verify arbitrary tokens: it never panics, and accepts a
// token only if it is exactly what Issue makes for that openid with this
// secret and a live expiry (so no forged, truncated or re-encoded token
// gets in). Seeds: a valid token, its truncations, a wrong-key token and an
// expired one.
//
//	go test ./shared/session -run '^$' -fuzz FuzzVerify -fuzztime 30s
func FuzzVerify(f *testing.F) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := session.New(fuzzSecret, time.Hour, "", clock)
	good, _ := s.Issue("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:strings.IndexByte(good, '.')+1])
	f.Add(good + "=")
	other, _ := session.New([]byte(strings.Repeat("k", 32)), time.Hour, "", clock).Issue("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
	f.Add(other)
	expired, _ := session.New(fuzzSecret, time.Minute, "", func() time.Time { return now.Add(-time.Hour) }).Issue("o")
	f.Add(expired)
	f.Add("")
	f.Add(".")
	f.Fuzz(func(t *testing.T, token string) {
		openid, err := s.Verify(token)
		if err != nil {
			if !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("Verify error %v does not match ErrInvalidToken", err)
			}
			return
		}
		// Accepted: it must be a token this secret issued, byte for byte
		// (expiry aside, which Issue sets from the clock).
		if len(openid) > 128 {
			t.Fatalf("accepted an openid of %d bytes", len(openid))
		}
		reissued, _ := session.New(fuzzSecret, time.Hour, "", clock).Issue(openid)
		if head := strings.IndexByte(token, '.'); head < 0 || len(token) != len(reissued) {
			t.Fatalf("accepted %q, which is not shaped like an issued token %q", token, reissued)
		}
	})
}

// FuzzIssueVerify: every openid Issue signs comes back from Verify, and
// changing any one byte of the token makes Verify refuse it.
func FuzzIssueVerify(f *testing.F) {
	f.Add("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", uint16(3))
	f.Add("a", uint16(0))
	f.Add("用户", uint16(40))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := session.New(fuzzSecret, time.Hour, "", func() time.Time { return now })
	f.Fuzz(func(t *testing.T, openid string, at uint16) {
		if openid == "" || len(openid) > 128 {
			return
		}
		tok, _ := s.Issue(openid)
		got, err := s.Verify(tok)
		if err != nil || got != openid {
			t.Fatalf("Verify(Issue(%q)) = %q, %v", openid, got, err)
		}
		i := int(at) % len(tok)
		b := []byte(tok)
		b[i] ^= 0x01
		if tampered := string(b); tampered != tok {
			if got, err := s.Verify(tampered); err == nil {
				// base64url's last character may carry unused bits: flipping
				// one of those decodes to the same bytes. Only that is allowed.
				if got != openid {
					t.Fatalf("a token with byte %d changed was accepted for %q", i, got)
				}
			}
		}
	})
}
