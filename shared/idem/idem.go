// Package idem records the outcome of creating POSTs so that a retry with the
// same Idempotency-Key from the same caller gets the first answer back and
// creates nothing new.
//
// A key is scoped to one action of one caller, and bound to the request it
// first came with: its fingerprint (a hash of the action and of what the
// request asks for: its target, such as the order a refund is for, and its
// fields) is stored with the outcome. A later request with the same key that
// asks for anything else is refused with ErrKeyReused (422
// idempotency_key_reused) rather than answered with the first request's
// outcome, which would tell the client that something was done that was not
// (a refund of another order "replayed" as if it had been refunded).
//
// The record is written in the same store transaction as the thing it
// creates (Key.Op), so there is never a created thing without its record,
// nor a record without its thing. A losing concurrent duplicate sees its
// Write fail on the record's op and reads the winner's record (Key.Lookup).
//
// This package owns the "idem#" key prefix: other packages get ops and
// answers from it and test keys with IsRecord.
package idem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// prefix starts the partition key of every record.
const prefix = "idem#"

var (
	// ErrBadKey is returned for a key that is too long or holds control characters.
	ErrBadKey = apperr.New(apperr.Invalid, "invalid_request", "Idempotency-Key must be 1 to 255 printable characters")
	// ErrKeyReused is returned when a key already recorded for one request
	// comes back with a different one (another target, other fields).
	ErrKeyReused = apperr.New(apperr.Unprocessable, "idempotency_key_reused",
		"this Idempotency-Key was already used for a different request; send a new key for a new request")
)

// Key is a client's Idempotency-Key on one action of one caller, bound to one
// request. The zero Key means the client sent none: nothing is recorded.
type Key struct {
	item store.Key
	fp   string
}

// New returns the Key of clientKey for action by caller, bound to req: what
// the request asks for, marshalled to JSON for its fingerprint (include the
// target's id, such as the order a refund is for, and every field that
// changes the outcome). An empty clientKey returns the zero Key.
// Returns ErrBadKey for a malformed client key.
func New(action, caller, clientKey string, req any) (Key, error) {
	if clientKey == "" {
		return Key{}, nil
	}
	if err := Check(clientKey); err != nil {
		return Key{}, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Key{}, fmt.Errorf("idem: fingerprint of %s: %w", action, err)
	}
	h := sha256.Sum256([]byte(clientKey))
	fp := sha256.Sum256(append([]byte(action+"\x00"), body...))
	return Key{
		item: store.Key{PK: prefix + caller, SK: action + "#" + hex.EncodeToString(h[:16])},
		fp:   hex.EncodeToString(fp[:16]),
	}, nil
}

// IsZero reports whether k is the zero Key (no client key).
func (k Key) IsZero() bool { return k.item == store.Key{} }

// Check validates a client key ("" means none was sent, which is allowed).
func Check(clientKey string) error {
	if len(clientKey) > MaxKeyLen || strings.IndexFunc(clientKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return ErrBadKey
	}
	return nil
}

// IsRecord reports whether a store key is an idempotency record's, so that a
// Write that failed on it means "this request was already done".
func IsRecord(k store.Key) bool { return strings.HasPrefix(k.PK, prefix) }

// record is the stored value: the request's fingerprint and its outcome.
type record struct {
	FP     string          `json:"fp"`
	Result json.RawMessage `json:"result"`
}

// Op returns the op that records result (JSON) as k's outcome; the op fails
// if a record exists. Put it in the same Write as what the request creates.
func (k Key) Op(result []byte, now time.Time) store.Op {
	v, err := json.Marshal(record{FP: k.fp, Result: result})
	if err != nil {
		// result is not JSON: a bug of the caller; keep the request's
		// outcome anyway, as a JSON string.
		s, _ := json.Marshal(string(result))
		v, _ = json.Marshal(record{FP: k.fp, Result: s})
	}
	return store.Put(store.Item{Key: k.item, Value: v, ExpiresAt: now.Add(TTL)}).IfAbsent()
}

// Lookup returns the recorded outcome of k, if any. Returns ErrKeyReused when
// the key was recorded for another request, and the store's errors.
func (k Key) Lookup(ctx context.Context, st store.Store) ([]byte, bool, error) {
	if k.IsZero() {
		return nil, false, nil
	}
	it, err := st.Get(ctx, k.item)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var rec record
	if err := json.Unmarshal(it.Value, &rec); err != nil || rec.FP == "" {
		// A record written before keys were bound to their request holds
		// the bare outcome; it expires within TTL.
		return it.Value, true, nil
	}
	if rec.FP != k.fp {
		return nil, false, ErrKeyReused
	}
	return rec.Result, true, nil
}
