package push

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"sort"
	"strings"

	"github.com/minifn/minifn/shared/apperr"
)

// Errors of the protocol layer. Each is a sentinel: match it with errors.Is.
var (
	// ErrBadSignature is returned when signature or msg_signature does not
	// verify (or is missing): the push did not come from WeChat.
	ErrBadSignature = apperr.New(apperr.Unauthenticated, "invalid_signature", "the push signature does not verify")

	// ErrDecrypt is returned when Encrypt is not Base64 of whole AES blocks,
	// its padding is outside 1–32, or its length field overruns the
	// plaintext: nothing that WeChat's encryption produces.
	ErrDecrypt = apperr.New(apperr.Invalid, "decrypt_failed", "the push could not be decrypted")

	// ErrWrongApp is returned when a decrypted push names another appid
	// than ours (the key is shared with another app, or the push was meant
	// for it).
	ErrWrongApp = apperr.New(apperr.Forbidden, "wrong_appid", "the push is for another app")

	// ErrBadKey is returned by ParseKey for an EncodingAESKey that is not 43
	// Base64 characters decoding to 32 bytes.
	ErrBadKey = errors.New("must be the 43-character EncodingAESKey (Base64 of 32 bytes, without the trailing =)")
)

// KeyLen is the length of an EncodingAESKey.
const KeyLen = 43

// blockSize is the PKCS#7 block of WeChat's message encryption: 32 bytes,
// the AES key length, not AES's 16 (Technical_Plan: "K 为秘钥字节数（采用 32）").
const blockSize = 32

// Key is an AES-256 key derived from an EncodingAESKey. Its String never
// shows it.
type Key struct{ b []byte }

// ParseKey turns the 43-character EncodingAESKey into the AES key:
// Base64_Decode(EncodingAESKey + "="). Its error never quotes the value.
func ParseKey(encodingAESKey string) (Key, error) {
	if len(encodingAESKey) != KeyLen {
		return Key{}, ErrBadKey
	}
	// Go's StdEncoding (not Strict) ignores the 4 spare bits of the last
	// character, as the official samples' decoders do.
	b, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(b) != 32 {
		return Key{}, ErrBadKey
	}
	return Key{b}, nil
}

// IsZero reports whether k is no key (plain mode).
func (k Key) IsZero() bool { return len(k.b) == 0 }

func (k Key) String() string   { return "[hidden]" }
func (k Key) GoString() string { return "push.Key{[hidden]}" }

// Sign is WeChat's push signature: hex(sha1(the parts sorted and
// concatenated)). The URL check and plain pushes sign token, timestamp and
// nonce ("signature"); safe-mode pushes add the Encrypt field
// ("msg_signature"), so that only that one covers the body.
func Sign(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	h := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(h[:])
}

// Verify reports whether sig is Sign(parts...), in constant time. Upper-case
// hex is accepted.
func Verify(sig string, parts ...string) bool {
	want := Sign(parts...)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(want)) == 1
}

// Decrypt opens a safe-mode Encrypt field: Base64 of AES-256-CBC (IV =
// key[:16]) over 16 random bytes ‖ uint32 big-endian length ‖ msg ‖ appid,
// PKCS#7-padded to 32 bytes. It checks the padding (1–32), the length and
// that the trailing appid is appID, and returns msg.
func Decrypt(k Key, appID, encrypt string) ([]byte, error) {
	if k.IsZero() {
		return nil, ErrDecrypt
	}
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	block, _ := aes.NewCipher(k.b) // 32 bytes: cannot fail
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, k.b[:aes.BlockSize]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) ||
		!bytes.Equal(pt[len(pt)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrDecrypt
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, ErrDecrypt
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, ErrDecrypt
	}
	msg, tail := pt[20:20+n], pt[20+n:]
	if subtle.ConstantTimeCompare(tail, []byte(appID)) != 1 {
		return nil, ErrWrongApp
	}
	return msg, nil
}

// Encrypt seals msg for appID the way WeChat does (Decrypt's inverse), with
// 16 bytes from random (crypto/rand when nil). The emulator and tests use
// it; minifn never answers in encrypted form (it answers "success").
func Encrypt(k Key, appID string, msg []byte, random io.Reader) (string, error) {
	if k.IsZero() {
		return "", ErrBadKey
	}
	if random == nil {
		random = rand.Reader
	}
	var buf bytes.Buffer
	prefix := make([]byte, 16)
	if _, err := io.ReadFull(random, prefix); err != nil {
		return "", err
	}
	buf.Write(prefix)
	binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(appID)
	pad := blockSize - buf.Len()%blockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, _ := aes.NewCipher(k.b)
	ct := make([]byte, buf.Len())
	cipher.NewCBCEncrypter(block, k.b[:aes.BlockSize]).CryptBlocks(ct, buf.Bytes())
	return base64.StdEncoding.EncodeToString(ct), nil
}
