package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// errCorrupt marks a record the codec cannot read.
var errCorrupt = errors.New("bolt: corrupt record")

// flagExpires is set in a record's first byte when the item has an expiry.
// Unknown flag bits are refused so that a future format is never misread.
const flagExpires = 1

// record is an item as stored: the item, plus its expiry in epoch seconds.
type record struct {
	store.Item
	expires bool
	expSec  int64
}

// live reports whether the record is visible at now.
func (r record) live(now time.Time) bool {
	return !r.expires || now.Before(time.Unix(r.expSec, 0))
}

// itemKey is the composite key: uint16 len(PK) | PK | SK. Keys are at most
// 512 bytes each (store.Validate), so the length fits.
func itemKey(k store.Key) []byte {
	b := make([]byte, 2, 2+len(k.PK)+len(k.SK))
	binary.BigEndian.PutUint16(b, uint16(len(k.PK)))
	b = append(b, k.PK...)
	return append(b, k.SK...)
}

// collection is the prefix every item key of pk starts with.
func collection(pk string) []byte { return itemKey(store.Key{PK: pk}) }

// splitKey is the inverse of itemKey.
func splitKey(b []byte) (store.Key, error) {
	if len(b) < 2 {
		return store.Key{}, errCorrupt
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return store.Key{}, errCorrupt
	}
	return store.Key{PK: string(b[2 : 2+n]), SK: string(b[2+n:])}, nil
}

// expiryKey indexes an item key under its expiry second. Flipping the sign
// bit makes negative seconds sort before positive ones.
func expiryKey(sec int64, key []byte) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(sec)^1<<63)
	return append(b, key...)
}

// expirySecond reads the second back from an expiry index key.
func expirySecond(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ 1<<63) }

// encode lays an item out as: flags | uvarint Version | varint N |
// [varint expiry second] | Value. The key is not repeated.
func encode(it store.Item) []byte {
	b := make([]byte, 1, 1+3*binary.MaxVarintLen64+len(it.Value))
	if !it.ExpiresAt.IsZero() {
		b[0] |= flagExpires
	}
	b = binary.AppendUvarint(b, uint64(it.Version))
	b = binary.AppendVarint(b, it.N)
	if b[0]&flagExpires != 0 {
		b = binary.AppendVarint(b, it.ExpiresAt.Unix())
	}
	return append(b, it.Value...)
}

// decode reads a record stored under k. The Value is copied: bbolt's memory
// is only valid inside the transaction.
func decode(k store.Key, v []byte) (record, error) {
	r := record{Item: store.Item{Key: k}}
	if len(v) < 1 || v[0]&^flagExpires != 0 {
		return r, fmt.Errorf("%w at %s", errCorrupt, k)
	}
	r.expires = v[0]&flagExpires != 0
	p := 1
	ver, n := binary.Uvarint(v[p:])
	if n <= 0 {
		return r, fmt.Errorf("%w at %s", errCorrupt, k)
	}
	p += n
	r.Version = int64(ver)
	if r.N, n = binary.Varint(v[p:]); n <= 0 {
		return r, fmt.Errorf("%w at %s", errCorrupt, k)
	}
	p += n
	if r.expires {
		if r.expSec, n = binary.Varint(v[p:]); n <= 0 {
			return r, fmt.Errorf("%w at %s", errCorrupt, k)
		}
		p += n
		r.ExpiresAt = time.Unix(r.expSec, 0).UTC()
	}
	r.Value = append([]byte(nil), v[p:]...)
	return r, nil
}
