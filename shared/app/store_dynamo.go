//go:build !nodynamo

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/dynamo"
)

func openDynamo(ctx context.Context, table string, now func() time.Time) (store.Store, error) {
	st, err := dynamo.Open(ctx, table, dynamo.Options{Now: now})
	if err != nil {
		return nil, fmt.Errorf("MINIFN_STORE: %w", err) // not a nil *Store in a non-nil interface
	}
	return st, nil
}
