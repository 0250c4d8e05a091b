package storetest

import (
	"bytes"
	"strings"
	"testing"
)

// TestSkipNotice: the line that says the PostgreSQL variants did not run is
// written once per `go test` run (the go command's pid), whatever the number
// of packages that skip them, and names the variable that runs them.
func TestSkipNotice(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	skipNotice(&out, dir, 4242)
	line := out.String()
	if !strings.HasPrefix(line, "PostgreSQL tests skipped") || !strings.Contains(line, PostgresEnv+"=postgres://") ||
		strings.Count(line, "\n") != 1 {
		t.Fatalf("notice %q", line)
	}
	skipNotice(&out, dir, 4242) // another package of the same run
	if out.String() != line {
		t.Fatalf("second package of the run printed again: %q", out.String())
	}
	skipNotice(&out, dir, 4243) // the next run
	if out.String() != line+line {
		t.Fatalf("the next run printed %q", strings.TrimPrefix(out.String(), line))
	}
}
