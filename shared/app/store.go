package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// StoreKind names a backend of MINIFN_STORE.
type StoreKind string

const (
	StoreBolt     StoreKind = "bolt"     // bolt:PATH
	StoreDynamoDB StoreKind = "dynamodb" // dynamodb:TABLE
	StorePostgres StoreKind = "postgres" // postgres://… or postgresql://…
)

// StoreURL is a parsed MINIFN_STORE.
type StoreURL struct {
	Kind   StoreKind
	Target string // the bolt file, the DynamoDB table, or the whole PostgreSQL URL
}

// ParseStore parses MINIFN_STORE. It checks the shape only: no file is
// opened and no network is reached.
func ParseStore(v string) (StoreURL, error) {
	const usage = "MINIFN_STORE must be bolt:PATH, dynamodb:TABLE or postgres://…"
	switch {
	case strings.HasPrefix(v, "bolt:"):
		if p := strings.TrimPrefix(v, "bolt:"); p != "" {
			return StoreURL{StoreBolt, p}, nil
		}
	case strings.HasPrefix(v, "dynamodb:"):
		if t := strings.TrimPrefix(v, "dynamodb:"); t != "" {
			return StoreURL{StoreDynamoDB, t}, nil
		}
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		return StoreURL{StorePostgres, v}, nil
	}
	return StoreURL{}, errors.New(usage)
}

// openStore opens the backend that MINIFN_STORE names. Every backend takes
// the same clock as the rest of the App, so expiry and business times agree.
//
// A backend is one case here: its package's Open, given u.Target and now.
// The network backends sit behind build tags (store_dynamo.go,
// store_postgres.go) so that a cloud's zips leave out the SDK they never use:
// the AWS SDK and pgx are most of a binary's weight and start-up work.
// Opening must not reach the network (no start-up calls: cold starts stay
// fast and a down database fails the first request with 503, not the start).
// A bolt file held by another process is treated the same way (openBolt).
func openStore(ctx context.Context, u StoreURL, now func() time.Time) (store.Store, error) {
	switch u.Kind {
	case StoreBolt:
		if dir := filepath.Dir(u.Target); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("MINIFN_STORE: %w", err)
			}
		}
		return openBolt(u.Target, now)
	case StoreDynamoDB:
		return openDynamo(ctx, u.Target, now)
	case StorePostgres:
		return openPostgres(ctx, u.Target, now)
	}
	return nil, fmt.Errorf("MINIFN_STORE: the %s backend is not built into this binary yet", u.Kind)
}
