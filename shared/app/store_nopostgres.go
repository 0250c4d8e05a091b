//go:build nopostgres

package app

import (
	"context"
	"errors"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// openPostgres refuses: this binary was built for a cloud without PostgreSQL.
func openPostgres(context.Context, string, func() time.Time) (store.Store, error) {
	return nil, errors.New("MINIFN_STORE: this binary was built without PostgreSQL (build tag nopostgres); " +
		"rebuild it with `minifn build --stores postgres`")
}
