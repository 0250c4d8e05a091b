#!/usr/bin/env bash
# Runs every fuzz target (func Fuzz… in a *_test.go) for a given time each,
# one after the other, and prints how long each ran and whether it failed.
# Not part of .ci/run: fuzzing has no end, and its time is better spent on
# a quiet machine. Usage:
#
#   bash .ci/fuzz.sh [TIME] [PATTERN]     # TIME a go test -fuzztime (default 30s); PATTERN filters targets
#
# A failing input is written by go test to the package's
# testdata/fuzz/<Target>/ and then runs with every plain `go test`:
# commit it with the fix.
set -uo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
fuzztime=${1:-30s}
pattern=${2:-.}

# package directory and target name of every fuzz target
mapfile -t targets < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' shared cmd |
	while read -r file; do
		grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed "s|^func |$(dirname "$file") |"
	done | sort | grep -E -- "$pattern")

failed=0
printf '%-32s %-28s %8s  %s\n' package target seconds result
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	log=$(mktemp)
	start=$(date +%s.%N)
	if go test "./$dir" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" >"$log" 2>&1; then
		result="ok ($(grep -oE 'execs: [0-9]+' "$log" | tail -n 1))"
	else
		result="FAILED"
		failed=1
	fi
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	printf '%-32s %-28s %8.1f  %s\n' "$dir" "$name" "$secs" "$result"
	[ "$result" = FAILED ] && tail -n 30 "$log"
	rm -f "$log"
done
exit "$failed"
