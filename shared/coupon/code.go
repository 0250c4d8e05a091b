package coupon

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so that a code
// read aloud or typed at a counter is hard to get wrong. It is in ASCII
// order, so encoded IDs sort like their bytes.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var b32 = base32.NewEncoding(crockford).WithPadding(base32.NoPadding)

// CodeBits is the entropy of a redemption code: 80 bits make guessing a
// live code hopeless even with millions of coupons outstanding.
const CodeBits = 80

// codeLen is the length of a code without its dashes (80 bits / 5).
const codeLen = CodeBits / 5

// newCode returns a random redemption code in its canonical form (16
// characters, no dashes). It is drawn from crypto/rand and owes nothing to
// the coupon id.
func newCode() string {
	var b [CodeBits / 8]byte
	rand.Read(b[:])
	return b32.EncodeToString(b[:])
}

// FormatCode groups a canonical code for display: XXXX-XXXX-XXXX-XXXX.
func FormatCode(code string) string {
	var sb strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(code[i:min(i+4, len(code))])
	}
	return sb.String()
}

// NormalizeCode turns what someone typed or scanned into the canonical code:
// case, dashes and spaces are ignored, and O, I and L read as 0, 1 and 1
// (Crockford's rules). It reports false if the result cannot be a code.
func NormalizeCode(s string) (string, bool) {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(crockford, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != codeLen {
		return "", false
	}
	return sb.String(), true
}

// newID returns an opaque, unique id that sorts by creation time: 48 bits of
// milliseconds and 80 random bits, in lowercase base32 (26 characters).
func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return strings.ToLower(b32.EncodeToString(b[:]))
}
