// Package idem records the outcome of creating POSTs so that a retry with the
// same Idempotency-Key from the same caller gets the first answer back and
// creates nothing new.
//
// The record is written in the same store transaction as the thing it
// creates (Op), so there is never a created thing without its record, nor a
// record without its thing. A losing concurrent duplicate sees its Write fail
// on the record's op and reads the winner's record (Lookup).
package idem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// TTL is how long a key is remembered. Clients retry within minutes; a day
// leaves room for a phone that was offline.
const TTL = 24 * time.Hour

// MaxKeyLen bounds the header's length.
const MaxKeyLen = 255

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ErrBadKey is returned for a key that is too long or holds control characters.
var ErrBadKey = apperr.New(apperr.Invalid, "invalid_request", "Idempotency-Key must be 1 to 255 printable characters")

// Key returns the store key of the record for (action, caller, key). The
// client's key is hashed so that any printable string fits the store's key
// rules.
func Key(action, caller, clientKey string) store.Key {
	h := sha256.Sum256([]byte(clientKey))
	return store.Key{PK: "idem#" + caller, SK: action + "#" + hex.EncodeToString(h[:16])}
}

// Check validates a client key ("" means none was sent, which is allowed).
func Check(clientKey string) error {
	if len(clientKey) > MaxKeyLen || strings.IndexFunc(clientKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return ErrBadKey
	}
	return nil
}

// Op returns the op that records result under k; it fails if a record exists.
func Op(k store.Key, result []byte, now time.Time) store.Op {
	return store.Put(store.Item{Key: k, Value: result, ExpiresAt: now.Add(TTL)}).IfAbsent()
}

// Lookup returns the recorded result at k, if any.
func Lookup(ctx context.Context, st store.Store, k store.Key) ([]byte, bool, error) {
	it, err := st.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return it.Value, true, nil
}
