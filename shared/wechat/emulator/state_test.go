package emulator

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestKeepStateAcrossRestart stops an emulator with a state file and starts
// another on it: a code minted before and not yet redeemed logs in as the
// same user, a redeemed one stays used (40029), the session key, the stable
// token, send credits, blocks and visits are the same.
func TestKeepStateAcrossRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wechat-emulator.json")
	clk := newClock()
	start := func() (*Emulator, *httptest.Server) {
		e := New(Options{Now: clk.Now, Apps: map[string]App{appA: {Secret: secretA}}})
		if err := e.KeepState(file); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(e.Handler())
		t.Cleanup(srv.Close)
		return e, srv
	}
	e1, srv1 := start()
	used, openid := e1.MintCode(appA, "alice")
	unused, _ := e1.MintCode(appA, "alice")
	wantSession(t, code2Session(t, srv1, appA, secretA, used))
	key, _ := e1.SessionKey(appA, openid)
	tok := stableToken(t, srv1, appA, secretA, false).str("access_token")
	e1.Accept(appA, openid, "TPL", 2)
	e1.Block("bob")
	e1.SetRiskRank(openid, 3)
	srv1.Close()
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}

	e2, srv2 := start()
	if k, ok := e2.SessionKey(appA, openid); !ok || k != key {
		t.Fatal("the session key was not kept")
	}
	if got := stableToken(t, srv2, appA, secretA, false).str("access_token"); got != tok {
		t.Fatalf("the stable token changed across the restart")
	}
	if _, code, _ := e2.CheckToken(withToken(tok)); code != 0 {
		t.Fatalf("the token from before the restart: errcode %d", code)
	}
	if n := e2.Credits(appA, openid, "TPL"); n != 2 {
		t.Fatalf("credits %d, want 2", n)
	}
	wantErrcode(t, code2Session(t, srv2, appA, secretA, used), 40029)
	a := code2Session(t, srv2, appA, secretA, unused)
	wantSession(t, a)
	if a.str("openid") != openid {
		t.Fatalf("openid %q after the restart, want %q", a.str("openid"), openid)
	}
	bob, _ := e2.MintCode(appA, "bob")
	wantErrcode(t, code2Session(t, srv2, appA, secretA, bob), 40226)
	e2.security.mu.Lock()
	rank, seen := e2.security.ranks[openid], !e2.security.seen[openid].IsZero()
	e2.security.mu.Unlock()
	if rank != 3 || !seen {
		t.Fatalf("risk rank %d, seen %v after the restart", rank, seen)
	}
}

// TestWithoutStateFileNothingIsWritten: the default emulator is memory only.
func TestWithoutStateFileNothingIsWritten(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	e := New(Options{})
	e.MintCode(DevAppID, "alice")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("an emulator without a state file wrote %v", entries)
	}
}
