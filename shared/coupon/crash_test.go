package coupon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

const (
	crashDBEnv       = "MINIFN_COUPON_CRASH_DB"
	crashCampaignEnv = "MINIFN_COUPON_CRASH_CAMPAIGN"
	crashUsers       = 2000
	crashStock       = 5000
	crashKillAfter   = 400 // claims reported by the child before it is killed
)

func crashUser(i int) string { return fmt.Sprintf("crash%04d", i) }

// TestCrashHelperClaimer is the child process of TestCrashMidRush: it claims
// as fast as it can and prints one line per issued coupon, until killed.
func TestCrashHelperClaimer(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("the child process of TestCrashMidRush")
	}
	st, err := bolt.Open(path, bolt.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc := coupon.New(st, coupon.Options{})
	campaignID := os.Getenv(crashCampaignEnv)
	out := make(chan struct{}, 1024)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for range out {
			fmt.Fprintln(w, "claimed")
			if len(out) == 0 {
				w.Flush()
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := g; ; i += 64 {
				_, _, err := svc.Claim(context.Background(), crashUser(i%crashUsers), campaignID, "")
				if err == nil {
					out <- struct{}{}
				}
			}
		})
	}
	wg.Wait()
}

// TestCrashMidRush kills a process with SIGKILL in the middle of a rush on a
// bbolt file, reopens the file and checks that nothing was lost or doubled:
// coupons issued + stock remaining == initial stock, every coupon has its
// code index and is counted against its user's limit exactly once.
func TestCrashMidRush(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := coupon.New(st, coupon.Options{})
	camp := mustCampaign(t, svc, coupon.CampaignInput{Stock: crashStock, StockShards: 4, PerUserLimit: 3})
	st.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperClaimer$")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashCampaignEnv+"="+camp.ID)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := 0
	sc := bufio.NewScanner(stdout)
	for reported < crashKillAfter && sc.Scan() {
		if sc.Text() == "claimed" {
			reported++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if reported < crashKillAfter {
		t.Fatalf("the child reported %d claims before exiting, want %d", reported, crashKillAfter)
	}

	st, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer st.Close()
	svc = coupon.New(st, coupon.Options{})
	ctx := context.Background()
	v, err := svc.Campaign(ctx, camp.ID)
	if err != nil {
		t.Fatal(err)
	}
	issued, codes := 0, map[string]bool{}
	for u := range crashUsers {
		list, err := svc.Coupons(ctx, crashUser(u), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 3 {
			t.Errorf("%s holds %d coupons, limit 3", crashUser(u), len(list))
		}
		cnt, err := st.Get(ctx, store.Key{PK: "coupon#" + crashUser(u), SK: "count#" + camp.ID})
		if err == nil && cnt.N != int64(len(list)) || err != nil && len(list) != 0 {
			t.Errorf("%s: claim counter %d, coupons %d", crashUser(u), cnt.N, len(list))
		}
		for _, c := range list {
			issued++
			canon, _ := coupon.NormalizeCode(c.Code)
			if codes[canon] {
				t.Errorf("code %s issued twice", c.Code)
			}
			codes[canon] = true
			ref, err := st.Get(ctx, store.Key{PK: "code#" + canon, SK: "code"})
			var r struct {
				CouponID string `json:"coupon_id"`
			}
			if err != nil || json.Unmarshal(ref.Value, &r) != nil || r.CouponID != c.ID {
				t.Errorf("code index of %s: %v %+v", c.ID, err, r)
			}
		}
	}
	t.Logf("killed after %d reported claims; %d coupons issued, %d remaining", reported, issued, v.Remaining)
	if issued < reported {
		t.Errorf("%d coupons in the file, but the child saw %d claims succeed", issued, reported)
	}
	if int64(issued)+v.Remaining != crashStock {
		t.Errorf("issued %d + remaining %d = %d, want %d", issued, v.Remaining, int64(issued)+v.Remaining, crashStock)
	}
}
