package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/minifn/minifn/shared/store"
)

// maxAttempts bounds the transactions one Write runs when PostgreSQL reports
// a conflict it resolved by aborting us.
const maxAttempts = 5

// Write applies ops atomically in one transaction.
func (s *Store) Write(ctx context.Context, ops ...store.Op) error {
	if err := store.Validate(ops); err != nil {
		return err
	}
	_, err := s.write(ctx, ops)
	return err
}

// Add applies one OpAdd op and returns the counter's new value.
func (s *Store) Add(ctx context.Context, op store.Op) (int64, error) {
	if op.Kind != store.OpAdd {
		return 0, fmt.Errorf("%w: Add takes an add op", store.ErrInvalidOps)
	}
	if err := store.Validate([]store.Op{op}); err != nil {
		return 0, err
	}
	items, err := s.write(ctx, []store.Op{op})
	if err != nil {
		return 0, err
	}
	return items[0].N, nil
}

// write runs the transaction, again after a retryable conflict, and returns
// the items the ops left.
func (s *Store) write(ctx context.Context, ops []store.Op) ([]store.Item, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, err
	}
	var err error
	for range maxAttempts {
		var out []store.Item
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var werr error
			out, werr = s.writeTx(ctx, tx, ops)
			return werr
		})
		if err == nil {
			return out, nil
		}
		var ce *store.ConditionError
		if errors.As(err, &ce) {
			return nil, err
		}
		if !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return nil, wrapErr("write", err)
}

// writeTx locks the ops' keys, checks every condition against the current
// rows, and applies the ops.
func (s *Store) writeTx(ctx context.Context, tx pgx.Tx, ops []store.Op) ([]store.Item, error) {
	keys := make([]store.Key, len(ops))
	for i, op := range ops {
		keys[i] = op.Item.Key
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(id) FROM unnest($1::bigint[]) AS id", lockIDs(keys)); err != nil {
		return nil, err
	}
	rows, err := lockRows(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i, op := range ops {
		cur, stored := rows[op.Item.Key]
		if !store.Holds(op, cur, stored && store.Live(cur.ExpiresAt, now)) {
			return nil, &store.ConditionError{Index: i}
		}
	}
	out := make([]store.Item, len(ops))
	batch := &pgx.Batch{}
	for i, op := range ops {
		cur, stored := rows[op.Item.Key]
		next, keep := store.Apply(op, cur, stored && store.Live(cur.ExpiresAt, now))
		out[i] = next
		switch {
		case op.Kind == store.OpCheck:
		case !keep && stored:
			batch.Queue("DELETE FROM minifn_items WHERE pk = $1 AND sk = $2", op.Item.PK, op.Item.SK)
		case keep && stored:
			batch.Queue(`UPDATE minifn_items SET value = $3, n = $4, version = $5, expires_at = $6
				WHERE pk = $1 AND sk = $2`, row(next)...)
		case keep:
			// The advisory lock makes a concurrent insert impossible; the
			// check is a second line of defence, never a silent overwrite.
			batch.Queue(`INSERT INTO minifn_items (pk, sk, value, n, version, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, row(next)...).Exec(
				func(tag pgconn.CommandTag) error {
					if tag.RowsAffected() != 1 {
						return errRaced
					}
					return nil
				})
		}
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lockIDs returns the advisory lock ids of keys, ascending and distinct, so
// that every transaction takes its locks in the same order.
func lockIDs(keys []store.Key) []int64 {
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		h.Write([]byte(k.PK))
		h.Write([]byte{0})
		h.Write([]byte(k.SK))
		ids = append(ids, int64(h.Sum64()))
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// lockRows reads the stored rows (live or expired) at keys FOR UPDATE.
func lockRows(ctx context.Context, tx pgx.Tx, keys []store.Key) (map[store.Key]store.Item, error) {
	pks := make([]string, len(keys))
	sks := make([]string, len(keys))
	for i, k := range keys {
		pks[i], sks[i] = k.PK, k.SK
	}
	rows, err := tx.Query(ctx, `SELECT `+columns+` FROM minifn_items
		WHERE (pk, sk) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY pk, sk FOR UPDATE`, pks, sks)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, err
	}
	m := make(map[store.Key]store.Item, len(items))
	for _, it := range items {
		m[it.Key] = it
	}
	return m, nil
}

// columns are the columns scanItem reads, in its order.
const columns = "pk, sk, value, n, version, expires_at"

func scanItem(r pgx.CollectableRow) (store.Item, error) {
	var it store.Item
	var exp *time.Time
	if err := r.Scan(&it.PK, &it.SK, &it.Value, &it.N, &it.Version, &exp); err != nil {
		return it, err
	}
	if exp != nil {
		it.ExpiresAt = exp.UTC()
	}
	if len(it.Value) == 0 {
		it.Value = nil
	}
	return it, nil
}

// row is the arguments $1…$6 of an item's row. ExpiresAt is stored in whole
// seconds (truncated), like every backend.
func row(it store.Item) []any {
	var exp *time.Time
	if !it.ExpiresAt.IsZero() {
		t := time.Unix(it.ExpiresAt.Unix(), 0).UTC()
		exp = &t
	}
	var val []byte
	if len(it.Value) > 0 {
		val = it.Value
	}
	return []any{it.PK, it.SK, val, it.N, it.Version, exp}
}
