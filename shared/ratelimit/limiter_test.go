package ratelimit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

func rules(t *testing.T, s string) ratelimit.Rules {
	t.Helper()
	r, err := ratelimit.ParseRules(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAllow(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clock := storetest.NewClock(storetest.Epoch.Add(10 * time.Second)) // 10 s into a minute window
			st := b.Open(t, clock.Now)
			l := ratelimit.New(st, ratelimit.Options{Action: "claim", Rules: rules(t, "openid=3/1m,ip=5/1m"), Now: clock.Now})

			t.Run("per openid", func(t *testing.T) {
				for i := range 3 {
					if err := l.Allow(ctx, "10.0.0.1", "alice"); err != nil {
						t.Fatalf("request %d: %v", i+1, err)
					}
				}
				err := l.Allow(ctx, "10.0.0.1", "alice")
				if !errors.Is(err, ratelimit.ErrLimited) {
					t.Fatalf("4th request = %v; want ErrLimited", err)
				}
				if got := apperr.From(err).RetryAfter; got != 50*time.Second {
					t.Fatalf("RetryAfter = %v; want 50s (the rest of the window)", got)
				}
			})
			t.Run("refused requests count against neither", func(t *testing.T) {
				// alice's refused 4th did not bump the IP counter: 3 used, 2 left.
				for i := range 2 {
					if err := l.Allow(ctx, "10.0.0.1", fmt.Sprintf("bob%d", i)); err != nil {
						t.Fatalf("bob%d: %v", i, err)
					}
				}
				if err := l.Allow(ctx, "10.0.0.1", "carol"); !errors.Is(err, ratelimit.ErrLimited) {
					t.Fatalf("6th request from the IP = %v; want ErrLimited", err)
				}
				if err := l.Allow(ctx, "10.0.0.2", "carol"); err != nil {
					t.Fatalf("carol from another IP: %v", err)
				}
			})
			t.Run("actions are separate", func(t *testing.T) {
				other := ratelimit.New(st, ratelimit.Options{Action: "order", Rules: rules(t, "openid=3/1m,ip=5/1m"), Now: clock.Now})
				if err := other.Allow(ctx, "10.0.0.1", "alice"); err != nil {
					t.Fatalf("alice's first order: %v", err)
				}
			})
			t.Run("next window", func(t *testing.T) {
				clock.Advance(50 * time.Second)
				if err := l.Allow(ctx, "10.0.0.1", "alice"); err != nil {
					t.Fatalf("alice in the next window: %v", err)
				}
			})
		})
	}
}

// Two Limiters on one store are two function instances: together they let
// exactly the limit through, however the requests race.
func TestAllowAcrossInstances(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clock := storetest.NewClock(time.Time{})
			st := b.Open(t, clock.Now)
			r := rules(t, "openid=7/1m,ip=off")
			instances := []*ratelimit.Limiter{
				ratelimit.New(st, ratelimit.Options{Action: "claim", Rules: r, Now: clock.Now}), ratelimit.New(st, ratelimit.Options{Action: "claim", Rules: r, Now: clock.Now}),
			}
			var allowed, limited atomic.Int64
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					err := instances[i%2].Allow(ctx, "10.0.0.1", "alice")
					switch {
					case err == nil:
						allowed.Add(1)
					case errors.Is(err, ratelimit.ErrLimited):
						limited.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if allowed.Load() != 7 || limited.Load() != 33 {
				t.Fatalf("allowed %d, limited %d; want 7 and 33", allowed.Load(), limited.Load())
			}
		})
	}
}

func TestOffAndNil(t *testing.T) {
	var nilLimiter *ratelimit.Limiter
	if err := nilLimiter.Allow(context.Background(), "10.0.0.1", "alice"); err != nil {
		t.Fatal(err)
	}
	// An off limiter never touches the store: a nil store would panic.
	off := ratelimit.New(nil, ratelimit.Options{Action: "login", Rules: rules(t, "off")})
	for range 100 {
		if err := off.Allow(context.Background(), "10.0.0.1", "alice"); err != nil {
			t.Fatal(err)
		}
	}
}

// failingStore is a store whose writes fail as an unreachable backend's do.
type failingStore struct{ store.Store }

func (failingStore) Write(context.Context, ...store.Op) error {
	return store.Unavailable(errors.New("connection refused"))
}

func TestStoreUnavailable(t *testing.T) {
	l := ratelimit.New(failingStore{}, ratelimit.Options{Action: "login", Rules: rules(t, "5/1m")})
	err := l.Allow(context.Background(), "10.0.0.1", "alice")
	if !errors.Is(err, store.ErrUnavailable) || ratelimit.IsLimited(err) {
		t.Fatalf("Allow = %v; want the store's ErrUnavailable", err)
	}
}

func TestSourceIP(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.7:5000":           "203.0.113.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[::ffff:203.0.113.7]:80":    "203.0.113.7",
		"203.0.113.7":                "203.0.113.7",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"not an address":             "not an address",
	} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "198.51.100.1")
		if got := ratelimit.SourceIP(r); got != want {
			t.Errorf("SourceIP(%q) = %q; want %q", remote, got, want)
		}
	}
}

// TestClientIP: the whole address, for WeChat's client_ip; no header read.
func TestClientIP(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.7:5000":           "203.0.113.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2:3:4:5:6",
		"[::ffff:203.0.113.7]:80":    "203.0.113.7",
		"[fe80::1%eth0]:80":          "fe80::1",
		"203.0.113.7":                "203.0.113.7",
		"":                           "",
	} {
		r := httptest.NewRequest("POST", "/coupons/claim", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "198.51.100.1")
		if got := ratelimit.ClientIP(r); got != want {
			t.Errorf("ClientIP(%q) = %q; want %q", remote, got, want)
		}
	}
}

// TestMiddleware drives the middleware over real HTTP: the IP limit before
// the handler, the openid limit once the handler knows it (as login does),
// 429 rate_limited with Retry-After, and the handler not reached when refused.
func TestMiddleware(t *testing.T) {
	clock := storetest.NewClock(time.Time{})
	st := storetest.Backends(t)[0].Open(t, clock.Now)
	l := ratelimit.New(st, ratelimit.Options{Action: "login", Rules: rules(t, "openid=2/1m,ip=4/1m"), Now: clock.Now})
	var reached atomic.Int64
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if err := ratelimit.CountOpenID(r.Context(), r.URL.Query().Get("user")); err != nil {
			fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(l.Middleware(nil, fail)(login))
	defer srv.Close()
	post := func(user string) (int, string, string) {
		resp, err := http.Post(srv.URL+"/login?user="+user, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error.Code, resp.Header.Get("Retry-After")
	}
	for _, want := range []struct {
		user   string
		status int
	}{{"alice", 200}, {"alice", 200}, {"alice", 429}, {"bob", 200}, {"bob", 429}} {
		status, code, retry := post(want.user)
		if status != want.status {
			t.Fatalf("%s: status %d; want %d", want.user, status, want.status)
		}
		if status == 429 && (code != "rate_limited" || retry != "60") {
			t.Fatalf("429 with code %q, Retry-After %q; want rate_limited, 60", code, retry)
		}
	}
	// The IP has used its 4 (alice's refused 3rd still passed the IP check
	// and reached the handler; bob's refused 2nd too); the next is refused
	// before the handler.
	before := reached.Load()
	if status, _, _ := post("carol"); status != 429 {
		t.Fatalf("5th request from the IP: status %d; want 429", status)
	}
	if reached.Load() != before {
		t.Fatal("the handler ran for a request refused by the IP limit")
	}
}

// fail writes the contract's error shape, as httpapi.Error does.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.From(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
	}
	status := http.StatusInternalServerError
	if e.Kind == apperr.RateLimited {
		status = http.StatusTooManyRequests
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}
