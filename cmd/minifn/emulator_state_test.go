package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/wechat/emulator"
)

// syncBuffer is a bytes.Buffer safe to read while emulatorCmd writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runEmulatorCmd runs `minifn emulator args…` until stop, and returns its
// base URL and banner.
func runEmulatorCmd(t *testing.T, args ...string) (base string, banner *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- emulatorCmd(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), out) }()
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			var once sync.Once
			return m[1], out, func() {
				once.Do(func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("emulator: %v", err)
					}
				})
			}
		}
		select {
		case err := <-done:
			t.Fatalf("emulator stopped: %v\n%s", err, out.String())
		default:
		}
	}
	cancel()
	t.Fatalf("no banner: %s", out.String())
	return "", nil, nil
}

// TestEmulatorStateFlag: `minifn emulator --state S` keeps, across runs, the
// WeChat Pay public key (its id), the generated merchant key, and a login
// code minted before the restart; without --state each run is new.
func TestEmulatorStateFlag(t *testing.T) {
	state, keys := t.TempDir(), t.TempDir()
	keyID := regexp.MustCompile(`public key id (PUB_KEY_ID_\d+)`)
	base, out, stop := runEmulatorCmd(t, "--state", state, "--dir", keys)
	defer stop()
	var minted struct{ Code, OpenID string }
	res, err := http.Post(base+"/_emulator/login-code", "application/json", bytes.NewReader([]byte(`{"user":"erin"}`)))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&minted)
	res.Body.Close()
	id1 := keyID.FindStringSubmatch(out.String())
	key1, _ := os.ReadFile(filepath.Join(keys, "merchant-key.pem"))
	stop()

	base, out, stop2 := runEmulatorCmd(t, "--state", state, "--dir", keys)
	defer stop2()
	id2 := keyID.FindStringSubmatch(out.String())
	key2, _ := os.ReadFile(filepath.Join(keys, "merchant-key.pem"))
	if id1 == nil || id2 == nil || id1[1] != id2[1] || len(key1) == 0 || !bytes.Equal(key1, key2) {
		t.Fatalf("keys changed across runs with --state: %v %v", id1, id2)
	}
	q := url.Values{"appid": {emulator.DevAppID}, "secret": {emulator.DevSecret}, "js_code": {minted.Code}, "grant_type": {"authorization_code"}}
	res, err = http.Get(base + "/sns/jscode2session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		OpenID  string `json:"openid"`
		ErrCode int    `json:"errcode"`
	}
	json.NewDecoder(res.Body).Decode(&sess)
	res.Body.Close()
	if minted.Code == "" || sess.OpenID != minted.OpenID {
		t.Fatalf("a code minted before the restart: %+v (minted %+v)", sess, minted)
	}
	stop2()

	// Without --state, a new run has a new key.
	_, out, stop3 := runEmulatorCmd(t, "--dir", keys)
	defer stop3()
	if id3 := keyID.FindStringSubmatch(out.String()); id3 == nil || id3[1] == id1[1] {
		t.Fatalf("a run without --state kept the key id: %v", id3)
	}
}
