//go:build !nopostgres

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/postgres"
)

func openPostgres(ctx context.Context, url string, now func() time.Time) (store.Store, error) {
	st, err := postgres.Open(ctx, url, postgres.Options{Now: now})
	if err != nil {
		return nil, fmt.Errorf("MINIFN_STORE: %w", err)
	}
	return st, nil
}
