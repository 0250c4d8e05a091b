// Package store defines the one storage contract every minifn feature is
// built on, and the record types that cross it.
//
// The store holds items under a two-part key (PK, SK). Items that share a PK
// form a collection that can be listed in SK order (Query); everything else is
// addressed by its full key. An item carries an opaque Value (the domain
// package's JSON), an integer counter N, a Version the store maintains, and an
// optional expiry.
//
// All writes go through Write, which applies up to MaxOps operations on
// distinct keys atomically: every condition holds and every op is applied, or
// none is. That one primitive covers put-if-absent, conditional update (by
// version), atomic counters with bounds (stock, per-user limits, balances),
// deletes and multi-key transactions. It maps onto DynamoDB's
// TransactWriteItems / conditional single-item writes, onto a PostgreSQL
// transaction with SELECT … FOR UPDATE, and onto one bbolt write transaction.
//
// The backends live in subpackages (store/bolt, store/dynamo, store/postgres)
// and all pass store/storetest, the contract suite.
//
// # Caveats
//
//   - Expiry has one-second resolution (DynamoDB's TTL attribute is in epoch
//     seconds). An item whose ExpiresAt is at or before now is absent for every
//     read and every condition, even while a backend has not yet removed it.
//   - A PK is one partition on DynamoDB (about 1,000 writes/s): a hot counter
//     must be sharded by the domain package over several keys.
//   - Write never returns values; use Add for a single counter whose new value
//     you need.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
)

// MaxOps is the largest number of ops one Write accepts (DynamoDB's
// TransactWriteItems limit).
const MaxOps = 100

// Key addresses one item. PK names the collection, SK the item within it.
// Both are non-empty UTF-8 strings of at most 512 bytes.
type Key struct {
	PK string
	SK string
}

func (k Key) String() string { return k.PK + "/" + k.SK }

// Item is one stored record.
type Item struct {
	Key
	Value     []byte    // opaque to the store
	N         int64     // counter; 0 for a new item
	Version   int64     // set by the store: 1 on create, +1 on every write
	ExpiresAt time.Time // zero: never expires
}

// OpKind says what an Op does.
type OpKind uint8

const (
	OpPut    OpKind = iota + 1 // create or replace the whole item (Value, N, ExpiresAt)
	OpAdd                      // add Delta to N, creating the item (N 0, no Value) if absent
	OpDelete                   // remove the item; deleting an absent item is not an error
	OpCheck                    // write nothing; only check the conditions
)

// Cond is a condition on the item's current state.
type Cond uint8

const (
	Any       Cond = iota // no condition
	IfAbsent              // no live item at the key
	IfExists              // a live item at the key
	IfVersion             // a live item whose Version is Op.Version
)

// Op is one operation of a Write. Build it with Put, Add, Delete or Check and
// the If…/AtLeast/AtMost methods.
type Op struct {
	Kind  OpKind
	Item  Item  // Key always; Value, N and ExpiresAt for OpPut; ExpiresAt for OpAdd (set when non-zero)
	Delta int64 // OpAdd

	Cond    Cond
	Version int64 // with IfVersion

	// Bounds on N: for OpAdd on the new value, for OpCheck on the current
	// value (an absent item counts as 0). Nil: unbounded.
	Min, Max *int64
}

// Put replaces the item at it.Key with it (Version is ignored).
func Put(it Item) Op { return Op{Kind: OpPut, Item: it} }

// Add adds delta to the counter at k.
func Add(k Key, delta int64) Op { return Op{Kind: OpAdd, Item: Item{Key: k}, Delta: delta} }

// Delete removes the item at k.
func Delete(k Key) Op { return Op{Kind: OpDelete, Item: Item{Key: k}} }

// Check only checks conditions on the item at k.
func Check(k Key) Op { return Op{Kind: OpCheck, Item: Item{Key: k}} }

// IfAbsent makes the op fail unless no live item is at its key.
func (o Op) IfAbsent() Op { o.Cond = IfAbsent; return o }

// IfExists makes the op fail unless a live item is at its key.
func (o Op) IfExists() Op { o.Cond = IfExists; return o }

// IfVersion makes the op fail unless the live item at its key has version v.
func (o Op) IfVersion(v int64) Op { o.Cond, o.Version = IfVersion, v; return o }

// AtLeast bounds N from below (after the add, for OpAdd).
func (o Op) AtLeast(n int64) Op { o.Min = &n; return o }

// AtMost bounds N from above (after the add, for OpAdd).
func (o Op) AtMost(n int64) Op { o.Max = &n; return o }

// ExpiringAt sets the expiry that an OpAdd writes (a new rate-limit window, say).
func (o Op) ExpiringAt(t time.Time) Op { o.Item.ExpiresAt = t; return o }

// Query selects items of one collection.
type Query struct {
	Prefix string // only SKs that start with Prefix
	After  string // only SKs after this one (before it, with Desc): the cursor
	Desc   bool   // descending SK order
	Limit  int    // at most this many items; 0 means 100; capped at 1000
}

// Store is the storage contract. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the live item at k. Returns ErrNotFound if there is none.
	Get(ctx context.Context, k Key) (Item, error)

	// Query returns live items of collection pk in SK order, and the cursor for
	// the next page (empty when there is none).
	Query(ctx context.Context, pk string, q Query) (items []Item, next string, err error)

	// Write applies ops atomically. Returns a *ConditionError naming the first
	// op whose condition failed (nothing is written), ErrInvalidOps for more
	// than MaxOps ops, none, or two on one key, and an error wrapping
	// ErrUnavailable when the backend cannot be reached.
	Write(ctx context.Context, ops ...Op) error

	// Add applies one OpAdd op and returns the counter's new value. Errors as
	// for Write.
	Add(ctx context.Context, op Op) (int64, error)

	// Close releases the backend.
	Close() error
}

var (
	// ErrNotFound is returned by Get when no live item is at the key.
	ErrNotFound = apperr.New(apperr.NotFound, "not_found", "not found")

	// ErrConditionFailed is what every *ConditionError matches with errors.Is.
	ErrConditionFailed = apperr.New(apperr.Conflict, "conflict", "the item changed; try again")

	// ErrInvalidOps is returned for a Write with no ops, more than MaxOps, two
	// ops on one key, an empty key part, or an op of the wrong kind for Add.
	ErrInvalidOps = errors.New("store: invalid ops")

	// ErrUnavailable is wrapped by every error that means the backend could
	// not be reached or is held by someone else; callers answer 503.
	ErrUnavailable = &apperr.Error{Kind: apperr.Unavailable, Code: "store_unavailable",
		Message: "the store is unavailable; try again", RetryAfter: 2 * time.Second}
)

// ConditionError reports which op of a Write failed its condition.
type ConditionError struct {
	Index int // index of the failing op in the Write call
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("store: condition failed on op %d", e.Index)
}

// Is makes errors.Is(err, ErrConditionFailed) true.
func (e *ConditionError) Is(target error) bool { return target == ErrConditionFailed }

// FailedOp returns the index of the op whose condition failed, or -1 if err
// is not a condition failure.
func FailedOp(err error) int {
	var ce *ConditionError
	if errors.As(err, &ce) {
		return ce.Index
	}
	return -1
}

// Unavailable wraps a backend error so that it matches ErrUnavailable and
// keeps its cause for the logs.
func Unavailable(cause error) error { return ErrUnavailable.Wrap(cause) }

// Validate checks the shape of a Write call; backends call it first.
func Validate(ops []Op) error {
	if len(ops) == 0 || len(ops) > MaxOps {
		return fmt.Errorf("%w: %d ops (1 to %d)", ErrInvalidOps, len(ops), MaxOps)
	}
	seen := make(map[Key]bool, len(ops))
	for i, op := range ops {
		k := op.Item.Key
		if k.PK == "" || k.SK == "" || len(k.PK) > 512 || len(k.SK) > 512 {
			return fmt.Errorf("%w: op %d has an empty or oversized key %q", ErrInvalidOps, i, k)
		}
		if op.Kind < OpPut || op.Kind > OpCheck {
			return fmt.Errorf("%w: op %d has no kind", ErrInvalidOps, i)
		}
		if seen[k] {
			return fmt.Errorf("%w: two ops on %s", ErrInvalidOps, k)
		}
		seen[k] = true
	}
	return nil
}

// Live reports whether an item with this expiry is live at now.
func Live(expiresAt, now time.Time) bool {
	return expiresAt.IsZero() || now.Before(expiresAt)
}

// Holds reports whether op's conditions hold for the current item cur
// (exists says whether cur is live). Backends that evaluate conditions
// themselves (bbolt, PostgreSQL) share this so that they agree exactly.
func Holds(op Op, cur Item, exists bool) bool {
	switch op.Cond {
	case IfAbsent:
		if exists {
			return false
		}
	case IfExists:
		if !exists {
			return false
		}
	case IfVersion:
		if !exists || cur.Version != op.Version {
			return false
		}
	}
	n := int64(0)
	if exists {
		n = cur.N
	}
	switch op.Kind {
	case OpAdd:
		n += op.Delta
	case OpCheck:
	default:
		return true
	}
	return (op.Min == nil || n >= *op.Min) && (op.Max == nil || n <= *op.Max)
}

// Apply returns the item that op leaves at its key, given the current item
// (exists says whether it is live), and whether the key ends up holding an
// item at all (false after a delete, or a check of an absent item).
func Apply(op Op, cur Item, exists bool) (Item, bool) {
	next := op.Item
	if !exists {
		cur = Item{Key: op.Item.Key}
	}
	switch op.Kind {
	case OpPut:
		next.Version = cur.Version + 1
		return next, true
	case OpAdd:
		cur.N += op.Delta
		cur.Version++
		if !op.Item.ExpiresAt.IsZero() {
			cur.ExpiresAt = op.Item.ExpiresAt
		}
		return cur, true
	case OpDelete:
		return Item{}, false
	default:
		return cur, exists
	}
}
