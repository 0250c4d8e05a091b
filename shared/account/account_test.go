package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// keyRecorder remembers the session_key of every code2Session answer, as
// read off the wire, so tests can compare the stored key with WeChat's latest.
type keyRecorder struct {
	mu   sync.Mutex
	last map[string]string // openid → session_key
}

func (k *keyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/jscode2session") {
		return res, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	var ans struct{ OpenID, Session_Key string }
	if json.Unmarshal(b, &ans) == nil && ans.OpenID != "" {
		k.mu.Lock()
		k.last[ans.OpenID] = ans.Session_Key
		k.mu.Unlock()
	}
	return res, nil
}

func (k *keyRecorder) key(openid string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last[openid]
}

type fixture struct {
	emu   *emulator.Emulator
	svc   *account.Service
	st    store.Store
	clock *storetest.Clock
	keys  *keyRecorder
}

func setup(t *testing.T, b storetest.Backend) fixture {
	t.Helper()
	clock := storetest.NewClock(time.Time{})
	emu := emulator.New(emulator.Options{Now: clock.Now})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	st := b.Open(t, clock.Now)
	keys := &keyRecorder{last: map[string]string{}}
	wc := wechat.New(wechat.Config{
		AppID: emulator.DevAppID, Secret: emulator.DevSecret, BaseURL: srv.URL,
		HTTP: &http.Client{Transport: keys}, Store: st, Now: clock.Now,
	})
	return fixture{emu, account.New(st, account.Options{WeChat: wc, Now: clock.Now}), st, clock, keys}
}

func TestLogin(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			code, openid := f.emu.MintCode(emulator.DevAppID, "alice")
			first, err := f.svc.Login(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if first.OpenID != openid || !first.CreatedAt.Equal(storetest.Epoch) || !first.LastLoginAt.Equal(storetest.Epoch) {
				t.Fatalf("first login = %+v", first)
			}
			key1, err := f.svc.SessionKey(ctx, openid)
			if err != nil || key1 == "" || key1 != f.keys.key(openid) {
				t.Fatalf("stored session_key after first login: %v (matches wire: %v)", err, key1 == f.keys.key(openid))
			}

			t.Run("reused code", func(t *testing.T) {
				_, err := f.svc.Login(ctx, code)
				if !errors.Is(err, wechat.ErrInvalidCode) || apperr.CodeOf(err) != "invalid_code" {
					t.Fatalf("err = %v, want invalid_code", err)
				}
			})
			t.Run("empty code", func(t *testing.T) {
				_, err := f.svc.Login(ctx, "")
				if apperr.CodeOf(err) != "invalid_request" || !strings.Contains(err.Error(), `"code"`) {
					t.Fatalf("err = %v, want invalid_request naming code", err)
				}
			})

			f.clock.Advance(90 * time.Minute)
			code2, _ := f.emu.MintCode(emulator.DevAppID, "alice")
			second, err := f.svc.Login(ctx, code2)
			if err != nil {
				t.Fatal(err)
			}
			if !second.CreatedAt.Equal(first.CreatedAt) || !second.LastLoginAt.Equal(storetest.Epoch.Add(90*time.Minute)) {
				t.Fatalf("second login = %+v; created_at must be kept", second)
			}
			key2, _ := f.svc.SessionKey(ctx, openid)
			if key2 == key1 || key2 != f.keys.key(openid) {
				t.Fatal("the stored session_key is not the one of the latest login")
			}
			got, err := f.svc.Get(ctx, openid)
			if err != nil || got != second {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, second)
			}
			it, _ := f.st.Get(ctx, account.ProfileKey(openid))
			if bytes.Contains(it.Value, []byte(key2)) || bytes.Contains(it.Value, []byte("session_key")) {
				t.Fatalf("the profile holds the session_key: %s", it.Value)
			}
		})
	}
}

func TestGetUnknown(t *testing.T) {
	f := setup(t, storetest.Backends(t)[0])
	if _, err := f.svc.Get(context.Background(), "o-nobody"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.SessionKey(context.Background(), "o-nobody"); !errors.Is(err, account.ErrNoSessionKey) {
		t.Fatalf("SessionKey = %v, want ErrNoSessionKey", err)
	}
}

func TestLoginErrorsFromWeChat(t *testing.T) {
	f := setup(t, storetest.Backends(t)[0])
	ctx := context.Background()
	f.emu.Block("mallory")
	code, openid := f.emu.MintCode(emulator.DevAppID, "mallory")
	if _, err := f.svc.Login(ctx, code); apperr.CodeOf(err) != "login_blocked" {
		t.Fatalf("blocked user: err = %v", err)
	}
	if _, err := f.svc.Get(ctx, openid); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("a refused login created the user: %v", err)
	}
	f.emu.Fail("/sns/jscode2session", 1, -1)
	code, _ = f.emu.MintCode(emulator.DevAppID, "bob")
	if _, err := f.svc.Login(ctx, code); apperr.KindOf(err) != apperr.Upstream {
		t.Fatalf("system busy: err = %v, want an upstream error", err)
	}
}

// TestConcurrentLogins logs one user in from many goroutines at once: every
// login succeeds, created_at is the first login's, and the stored key is one
// WeChat issued.
func TestConcurrentLogins(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			first, _ := f.emu.MintCode(emulator.DevAppID, "carol")
			u0, err := f.svc.Login(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
			const n = 8
			codes := make([]string, n)
			for i := range codes {
				codes[i], _ = f.emu.MintCode(emulator.DevAppID, "carol")
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { _, errs[i] = f.svc.Login(ctx, codes[i]) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("login %d: %v", i, err)
				}
			}
			u, err := f.svc.Get(ctx, u0.OpenID)
			if err != nil || !u.CreatedAt.Equal(u0.CreatedAt) || !u.LastLoginAt.Equal(u0.CreatedAt.Add(time.Minute)) {
				t.Fatalf("after concurrent logins: %+v, %v", u, err)
			}
			if key, _ := f.svc.SessionKey(ctx, u0.OpenID); key == "" {
				t.Fatal("no session_key stored")
			}
		})
	}
}
