package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevRestartKeepsEmulatorState stops `minifn dev` and starts it again
// on the same directory and address, as a developer does: the payment
// pending before the restart is paid through the Pay emulator and its
// notify lands (the order reads paid), the Idempotency-Key of before
// replays the same order, a login code minted before logs in as the same
// user, and one redeemed before stays used. With the emulators in memory
// (before the state files), paying answered 404 NOT_FOUND.
func TestDevRestartKeepsEmulatorState(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	base, d, stop := startStoppableDev(t, dir)
	defer stop()
	s := &shop{base: base, d: d, admin: string(d.App.Config.AdminToken)}
	if a := s.call(t, "POST", "/products", s.admin, `{"sku":"latte","title":"Latte","price":2800,"stock":10}`); a.status != 201 {
		t.Fatalf("product: %d %s", a.status, a.raw)
	}
	used, openid := mintCode(t, base, "carol")
	a := login(t, base, used)
	token := a.str("token")
	if a.status != 200 || token == "" {
		t.Fatalf("login: %d %s", a.status, a.raw)
	}
	later, _ := mintCode(t, base, "carol") // redeemed after the restart
	createdAt := do(t, "GET", base+"/me", token, nil).body["user"].(map[string]any)["created_at"]
	const body = `{"items":[{"sku":"latte","quantity":1}]}`
	first, rep := s.callKey(t, "POST", "/orders", token, "restart-1", body)
	if first.status != 201 || rep {
		t.Fatalf("order: %d %s", first.status, first.raw)
	}
	order := first.body["order"].(map[string]any)
	id, no := order["id"].(string), order["out_trade_no"].(string)

	stop()
	base2, d2, stop2 := startDevOn(t, dir, strings.TrimPrefix(base, "http://"), func(h http.Handler) http.Handler { return h })
	defer stop2()
	if base2 != base {
		t.Fatalf("restarted on %s, not %s", base2, base)
	}
	s2 := &shop{base: base2, d: d2, admin: s.admin}

	// "The user pays now": the Pay emulator knows the payment of before.
	if a := post(t, base2+"/_emulator/pay/"+no, ""); a.status != 200 {
		t.Fatalf("pay %s after the restart: %d %s", no, a.status, a.raw)
	}
	waitDelivered(t, d2, no, "TRANSACTION.SUCCESS")
	if got := s2.call(t, "GET", "/orders/"+id, token, "").body["order"].(map[string]any); got["status"] != "paid" {
		t.Fatalf("order after the notify: %v", got)
	}
	// The key of before replays the same order.
	again, rep := s2.callKey(t, "POST", "/orders", token, "restart-1", body)
	if again.status != 201 || !rep || again.body["order"].(map[string]any)["id"] != id {
		t.Fatalf("replay after the restart: %d replayed=%v %s", again.status, rep, again.raw)
	}
	// A code minted before logs in as the same user; a used one stays used.
	a = login(t, base2, later)
	if a.status != 200 || a.str("openid") != openid {
		t.Fatalf("login with a code minted before the restart: %d %s", a.status, a.raw)
	}
	me := do(t, "GET", base2+"/me", a.str("token"), nil).body["user"].(map[string]any)
	if me["openid"] != openid || me["created_at"] != createdAt {
		t.Fatalf("another user after the restart: %v (created_at before: %v)", me, createdAt)
	}
	wantError(t, "a code redeemed before the restart", login(t, base2, used), 400, "invalid_code")
	// A new order pays as usual (no prepay_id or transaction_id reused).
	s2.paidOrder(t, token)

	// The state files are the emulated merchant's secrets: owner-only.
	for _, f := range stateFiles {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
}

// TestDevFresh: --fresh deletes what dev keeps in its directory (store,
// secrets, emulators' state), nothing else, and refuses while dev runs.
func TestDevFresh(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	base, d, stop := startStoppableDev(t, dir)
	defer stop()
	mintCode(t, base, "dave")
	admin := d.App.Config.AdminToken
	if err := startFresh(dir); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("--fresh while dev runs: %v", err)
	}
	stop()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
	if err := startFresh(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "notes.txt" {
		t.Fatalf("after --fresh: %v", left)
	}
	_, d2 := startDev(t, dir)
	if d2.App.Config.AdminToken == admin {
		t.Fatal("--fresh kept the admin token")
	}
}
