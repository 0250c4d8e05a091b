package session_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/session"
)

var (
	secret  = []byte("0123456789abcdef0123456789abcdef")
	other   = []byte("fedcba9876543210fedcba9876543210")
	t0      = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	b64     = base64.RawURLEncoding
	openid1 = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestIssueVerify(t *testing.T) {
	c := &clock{t0}
	s := session.New(secret, 2*time.Hour, "", c.now)
	tok, exp := s.Issue(openid1)
	if want := t0.Add(2 * time.Hour); !exp.Equal(want) {
		t.Fatalf("expiresAt = %v, want %v", exp, want)
	}
	got, err := s.Verify(tok)
	if err != nil || got != openid1 {
		t.Fatalf("Verify = %q, %v; want %q", got, err, openid1)
	}
	c.t = exp.Add(-time.Second)
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("one second before expiry: %v", err)
	}
	c.t = exp
	if _, err := s.Verify(tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("at expiry: err = %v, want invalid_token", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	c := &clock{t0}
	s := session.New(secret, time.Hour, "admin-token-0123456789", c.now)
	tok, _ := s.Issue(openid1)
	body, mac, _ := strings.Cut(tok, ".")
	rawBody, _ := b64.DecodeString(body)
	rawMac, _ := b64.DecodeString(mac)

	// A token for another openid with the first one's signature.
	forgedBody := append([]byte{}, rawBody...)
	forgedBody[len(forgedBody)-1] ^= 1
	// The same token with its expiry pushed a year on.
	extended := append([]byte{}, rawBody...)
	extended[5] ^= 0x01
	flippedMac := append([]byte{}, rawMac...)
	flippedMac[0] ^= 0x80
	otherKeyTok, _ := session.New(other, time.Hour, "", c.now).Issue(openid1)
	expiredTok, _ := session.New(secret, time.Hour, "", func() time.Time { return t0.Add(-2 * time.Hour) }).Issue(openid1)

	cases := map[string]string{
		"empty":           "",
		"garbage":         "not a token",
		"no dot":          body + mac,
		"two dots":        tok + ".x",
		"truncated mac":   tok[:len(tok)-3],
		"truncated body":  body[:len(body)-4] + "." + mac,
		"header only":     b64.EncodeToString(rawBody[:13]) + "." + mac,
		"forged openid":   b64.EncodeToString(forgedBody) + "." + mac,
		"forged expiry":   b64.EncodeToString(extended) + "." + mac,
		"flipped mac":     body + "." + b64.EncodeToString(flippedMac),
		"mac of zeros":    body + "." + b64.EncodeToString(make([]byte, 32)),
		"wrong key":       otherKeyTok,
		"expired":         expiredTok,
		"bad base64":      "!!!." + mac,
		"padded base64":   base64.URLEncoding.EncodeToString(rawBody) + "." + mac,
		"admin token":     "admin-token-0123456789",
		"huge":            strings.Repeat("a", 600) + "." + mac,
		"version 2":       b64.EncodeToString(append([]byte{2}, rawBody[1:]...)) + "." + mac,
		"swapped halves":  mac + "." + body,
		"signature alone": "." + mac,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := s.Verify(tok)
			if !errors.Is(err, session.ErrInvalidToken) {
				t.Fatalf("Verify = %q, %v; want invalid_token", got, err)
			}
			if got != "" {
				t.Fatalf("Verify returned openid %q with an error", got)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	c := &clock{t0}
	old := session.New(other, time.Hour, "", c.now)
	tok, _ := old.Issue(openid1)
	cur := session.New(secret, time.Hour, "", c.now)
	if _, err := cur.Verify(tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("a token of the old secret verified without WithPrevious: %v", err)
	}
	rotated := cur.WithPrevious(other)
	if got, err := rotated.Verify(tok); err != nil || got != openid1 {
		t.Fatalf("old token after rotation = %q, %v", got, err)
	}
	newTok, _ := rotated.Issue(openid1)
	if _, err := old.Verify(newTok); err == nil {
		t.Fatal("the rotated Sessions signed with the previous secret")
	}
	if got, err := cur.Verify(newTok); err != nil || got != openid1 {
		t.Fatalf("new token = %q, %v", got, err)
	}
}
