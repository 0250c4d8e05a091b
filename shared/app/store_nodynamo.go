//go:build nodynamo

package app

import (
	"context"
	"errors"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// openDynamo refuses: this binary was built for a cloud without DynamoDB.
func openDynamo(context.Context, string, func() time.Time) (store.Store, error) {
	return nil, errors.New("MINIFN_STORE: this binary was built without DynamoDB (build tag nodynamo); " +
		"rebuild it with `minifn build --stores dynamodb`")
}
