#!/usr/bin/env bash
# The Mini-Program kit's tests (node --test) and the merchant console's
# browser tests (Debian's chromium driven by playwright-core), both against
# one real `minifn dev` built from this tree; and a third-party WeChat Pay
# client (npm) against `minifn emulator` from the same binary. Fails on any failed or skipped
# test. Prints where the console's screenshots went.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

tmp=$(mktemp -d /tmp/minifn-browser.XXXXXX)
dev_pid=
# cleanup stops the dev server this script started (by its PID) and removes
# its binary and state; the screenshots and the server's log stay.
cleanup() {
	if [ -n "$dev_pid" ]; then
		kill "$dev_pid" 2>/dev/null || true
		wait "$dev_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp/minifn" "$tmp/dev"
}
trap cleanup EXIT

MINIFN_ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export MINIFN_ADMIN_TOKEN
go build -o "$tmp/minifn" ./cmd/minifn
MINIFN_WALLET=on "$tmp/minifn" dev --addr 127.0.0.1:0 --dir "$tmp/dev" >"$tmp/dev.log" 2>&1 &
dev_pid=$!

# The banner: "minifn dev: N functions on http://127.0.0.1:PORT  (store …)".
url=
for _ in $(seq 1 150); do
	url=$(sed -n 's|.* on \(http://127\.0\.0\.1:[0-9]*\) .*|\1|p' "$tmp/dev.log" | head -n 1)
	if [ -n "$url" ] && curl -sf "$url/admin/" >/dev/null; then
		break
	fi
	url=
	if ! kill -0 "$dev_pid" 2>/dev/null; then
		echo "minifn dev exited:"; cat "$tmp/dev.log"; exit 1
	fi
	sleep 0.2
done
if [ -z "$url" ]; then
	echo "minifn dev did not come up:"; cat "$tmp/dev.log"; exit 1
fi
export MINIFN_URL=$url MINIFN_SCREENSHOTS=$tmp/shots
echo "minifn dev on $url (log: $tmp/dev.log)"

(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

# run NAME CMD…: runs one suite (CMD uses the TAP reporter), shows its
# output, and fails when a test failed, was cancelled or skipped (or marked
# todo), or when none passed.
run() {
	local name=$1 out status=0
	shift
	out="$tmp/$name.tap"
	"$@" >"$out" 2>&1 || status=$?
	cat "$out"
	local pass fail skip todo cancelled
	pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -n 1)
	fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -n 1)
	skip=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$out" | tail -n 1)
	todo=$(sed -n 's/^# todo \([0-9]*\)$/\1/p' "$out" | tail -n 1)
	cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$out" | tail -n 1)
	echo "== $name: pass ${pass:-?} fail ${fail:-?} cancelled ${cancelled:-?} skipped ${skip:-?} todo ${todo:-?}"
	if [ "$status" != 0 ] || [ "${pass:-0}" = 0 ] || [ "${fail:-1}" != 0 ] || [ "${cancelled:-1}" != 0 ] ||
		[ "${skip:-1}" != 0 ] || [ "${todo:-1}" != 0 ]; then
		echo "$name: failed, skipped or no test ran"
		return 1
	fi
}

result=0
run kit node --test --test-reporter=tap miniprogram/test/*.test.js || result=1
run console bash -c 'cd e2e && exec node --test --test-reporter=tap --test-concurrency=1 console.test.js' || result=1
# A third-party WeChat Pay client (wechatpay-axios-plugin) against `minifn emulator`, which the test starts.
run paysandbox bash -c "cd e2e && MINIFN_BIN='$tmp/minifn' exec node --test --test-reporter=tap --test-concurrency=1 paysandbox.test.js" || result=1
echo "screenshots: $MINIFN_SCREENSHOTS"
exit "$result"
