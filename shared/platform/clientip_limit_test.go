package platform

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/store/bolt"
)

// TestPerIPLimitBehindSCFGateway runs HTTP mode's real server with a per-IP
// limit of 2 a minute in front of the handler, and sends every request from
// the same TCP peer, as every user of an SCF web function arrives from
// Tencent's front end. As a web function, each client named by the
// gateway's X-Forwarded-For entry gets its own bucket; in local mode, where
// the client reaches the server itself, a different forged X-Forwarded-For
// on each request does not get it past the limit.
func TestPerIPLimitBehindSCFGateway(t *testing.T) {
	for _, tc := range []struct {
		clientIP string
		want     []int // statuses of the requests below, in order
	}{
		{clientIPSCFWeb, []int{200, 200, 429, 200, 200, 429}},
		{clientIPPeer, []int{200, 200, 429, 429, 429, 429}},
	} {
		t.Run(tc.clientIP, func(t *testing.T) {
			st, err := bolt.Open(filepath.Join(t.TempDir(), "rl.db"), bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			// A fixed clock in the middle of a window: no request straddles two.
			now := func() time.Time { return time.Unix(1_800_000_030, 0) }
			limit := ratelimit.New(st, ratelimit.Options{Action: "test", Rules: ratelimit.Rules{IP: ratelimit.Rule{Limit: 2, Window: time.Minute}}, Now: now}).
				Middleware(nil, httpapi.Error)
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, ratelimit.SourceIP(r)) })

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serveFunction(ctx, Function{Handler: limit(ok)}, ln, tc.clientIP) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			})

			// Client A thrice, then client B thrice; each writes a forged
			// entry of its own in front of what the gateway appends.
			var got []int
			for i, xff := range []string{
				"6.6.6.1, 203.0.113.10", "6.6.6.2, 203.0.113.10", "6.6.6.3, 203.0.113.10",
				"6.6.6.4, 203.0.113.11", "6.6.6.5, 203.0.113.11", "6.6.6.6, 203.0.113.11",
			} {
				req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/login", nil)
				req.Header.Set("X-Forwarded-For", xff)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				res.Body.Close()
				got = append(got, res.StatusCode)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
		})
	}
}
