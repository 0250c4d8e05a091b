package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/minifn/minifn/shared/store"
)

// Get returns the live item at k.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Item, error) {
	if err := s.ensure(ctx); err != nil {
		return store.Item{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM minifn_items
		WHERE pk = $1 AND sk = $2 AND (expires_at IS NULL OR expires_at > $3)`, k.PK, k.SK, s.now())
	if err != nil {
		return store.Item{}, wrapErr("get", err)
	}
	it, err := pgx.CollectExactlyOneRow(rows, scanItem)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Item{}, store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, wrapErr("get", err)
	}
	return it, nil
}

// Query returns live items of collection pk in SK order.
func (s *Store) Query(ctx context.Context, pk string, q store.Query) ([]store.Item, string, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	sql := `SELECT ` + columns + ` FROM minifn_items
		WHERE pk = $1 AND sk >= $2 AND starts_with(sk, $2) AND (expires_at IS NULL OR expires_at > $3)`
	args := []any{pk, q.Prefix, s.now()}
	if q.After != "" {
		args = append(args, q.After)
		if q.Desc {
			sql += " AND sk < $4"
		} else {
			sql += " AND sk > $4"
		}
	}
	if q.Desc {
		sql += " ORDER BY sk DESC"
	} else {
		sql += " ORDER BY sk"
	}
	// One row past the page says whether there is a next one.
	sql += " LIMIT " + strconv.Itoa(limit+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", wrapErr("query", err)
	}
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, "", wrapErr("query", err)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	return items[:limit], items[limit-1].SK, nil
}

// Sweep deletes up to limit rows that expired before now and returns how
// many it deleted. Rows a Write holds are skipped, not waited for.
func (s *Store) Sweep(ctx context.Context, limit int) (int64, error) {
	if err := s.ensure(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM minifn_items WHERE ctid IN (
		SELECT ctid FROM minifn_items WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		s.now(), limit)
	if err != nil {
		return 0, wrapErr("sweep", err)
	}
	return tag.RowsAffected(), nil
}
