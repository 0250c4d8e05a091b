package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/postgres"
)

// PostgresEnv names the variable holding the URL of a PostgreSQL database
// that tests may create schemas in, e.g.
// postgres://postgres@127.0.0.1:5432/minifn_test?sslmode=disable.
const PostgresEnv = "MINIFN_TEST_POSTGRES"

// postgresBackend is available when PostgresEnv is set.
func postgresBackend(tb testing.TB) (Backend, bool) {
	if os.Getenv(PostgresEnv) == "" {
		tb.Logf("PostgreSQL backend not run: set %s=postgres://… to run it", PostgresEnv)
		NoticePostgresSkipped()
		return Backend{}, false
	}
	return Backend{Name: "postgres", Open: OpenPostgres}, true
}

var noticeOnce sync.Once

// NoticePostgresSkipped says, in one line per `go test` run, that the
// PostgreSQL variants were skipped. `go test ./...` shows nothing a passing
// package prints (without -v), so the line goes to the terminal the run was
// started from when there is one (a developer reading "ok" should know what
// did not run), else to stderr (seen with -v or on a failure). CI's race
// step sets the variable, so it never sees the line.
func NoticePostgresSkipped() {
	noticeOnce.Do(func() {
		var w io.Writer = os.Stderr
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
		skipNotice(w, os.TempDir(), os.Getppid())
	})
}

// skipNotice writes the line unless another package of the same run (the
// go command, process run) has: the first to create a marker in dir writes.
func skipNotice(w io.Writer, dir string, run int) {
	marker := filepath.Join(dir, fmt.Sprintf("minifn-postgres-skipped-%d", run))
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return // another package said it, or no marker can be kept: stay quiet rather than repeat
	}
	f.Close()
	fmt.Fprintf(w, "PostgreSQL tests skipped: set %s=postgres://user@host:port/db?sslmode=disable to run them (README, Tests)\n", PostgresEnv)
}

// OpenPostgres returns a postgres store in a new, empty schema of the
// database named by PostgresEnv (dropped when tb ends), reading time from
// now. It fails tb when the variable is unset; check it or use Backends.
func OpenPostgres(tb testing.TB, now func() time.Time) store.Store {
	tb.Helper()
	st, err := postgres.Open(context.Background(), PostgresSchema(tb), postgres.Options{Now: now})
	if err != nil {
		tb.Fatalf("open postgres store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// PostgresSchema creates a new schema in the database named by PostgresEnv,
// drops it when tb ends, and returns a URL whose search_path is that schema.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Fatalf("%s is not set", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s is not a postgres:// URL: %v", PostgresEnv, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "minifn_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
