package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/ratelimit"
)

// loadUsage is the load command's part of the usage text.
const loadUsage = `  minifn load [--url U --admin TOKEN] [--duration 60s] [--concurrency 16]
      drive a dev server over loopback with a shop's mix (login, list, claim,
      order, pay → notify) and print req/s, p50/p99 per route and errors.
      Without --url it starts its own dev server (fresh store) with the
      per-IP rate limits off: every virtual user comes from 127.0.0.1.
`

func loadCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("load")
	base := fs.String("url", "", "base URL of a running `minifn dev` (default: start one)")
	admin := fs.String("admin", os.Getenv("MINIFN_ADMIN_TOKEN"), "its admin token (with --url)")
	dur := fs.Duration("duration", 60*time.Second, "how long to drive it")
	conc := fs.Int("concurrency", 16, "virtual users at once")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, rest[0])
	}
	if *conc < 1 || *dur <= 0 {
		return fmt.Errorf("%w: --concurrency and --duration must be positive", errUsage)
	}
	if *base == "" {
		stop, url, token, err := startLoadDev(ctx)
		if err != nil {
			return err
		}
		defer stop()
		*base, *admin = url, token
	} else if *admin == "" {
		return fmt.Errorf("%w: --url needs --admin (or MINIFN_ADMIN_TOKEN)", errUsage)
	}
	rep, err := runLoad(ctx, *base, *admin, *dur, *conc)
	if err != nil {
		return err
	}
	rep.print(out, *dur, *conc)
	if rep.serverErrors() > 0 {
		return fmt.Errorf("%d responses were 5xx", rep.serverErrors())
	}
	return nil
}

// startLoadDev starts dev on a free loopback port with its state in a
// temporary directory. Per-IP limits are turned off (unless set), since all
// the load comes from one address; per-openid limits stay as configured.
func startLoadDev(ctx context.Context) (stop func(), url, admin string, err error) {
	dir, err := os.MkdirTemp("", "minifn-load-")
	if err != nil {
		return nil, "", "", err
	}
	cfg, err := devConfig(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", "", err
	}
	// Into the Config devConfig read, not the process environment: the
	// environment is read once, and only by LoadConfig.
	for _, rl := range []struct {
		name  string
		rules *ratelimit.Rules
	}{{"MINIFN_RATE_LOGIN", &cfg.RateLogin}, {"MINIFN_RATE_CLAIM", &cfg.RateClaim}, {"MINIFN_RATE_ORDER", &cfg.RateOrder},
		{"MINIFN_RATE_BOOKING", &cfg.RateBooking}} {
		if _, set := os.LookupEnv(rl.name); !set {
			rl.rules.IP = ratelimit.Rule{}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", "", err
	}
	ctx, cancel := context.WithCancel(ctx)
	d, err := newDev(ctx, cfg, "http://"+ln.Addr().String(), "", io.Discard) // a throwaway run: emulators in memory
	if err != nil {
		cancel()
		ln.Close()
		os.RemoveAll(dir)
		return nil, "", "", err
	}
	done := make(chan error, 1)
	go func() { done <- platform.Serve(ctx, ln, d.Handler) }()
	return func() {
		cancel()
		<-done
		d.Close()
		os.RemoveAll(dir)
	}, d.URL, string(d.App.Config.AdminToken), nil
}

// sample is one request's outcome.
type sample struct {
	route  string
	status int // 0: the request failed
	took   time.Duration
}

// loadReport holds every sample of a run.
type loadReport struct {
	samples  []sample
	notifies map[string]int // delivery outcome → count
}

// loader is one run's shared state.
type loader struct {
	base, admin string
	client      *http.Client
	campaign    string
	mu          sync.Mutex
	samples     []sample
}

func runLoad(ctx context.Context, base, admin string, dur time.Duration, conc int) (*loadReport, error) {
	l := &loader{base: strings.TrimRight(base, "/"), admin: admin,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}}}
	if err := l.setup(ctx); err != nil {
		return nil, err
	}
	l.samples = nil // setup's calls are not part of the run
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() { l.user(ctx, w) })
	}
	wg.Wait()
	rep := &loadReport{samples: l.samples, notifies: map[string]int{}}
	// Let the notifies of the last payments land, then count their outcomes.
	time.Sleep(time.Second)
	var body struct {
		Notifies []struct {
			Delivered bool `json:"delivered"`
			Attempts  []struct {
				Status int `json:"status"`
			} `json:"attempts"`
		} `json:"notifies"`
	}
	if _, err := l.json(context.Background(), "", "GET", "/_emulator/notifies", "", "", &body); err == nil {
		for _, n := range body.Notifies {
			for _, a := range n.Attempts {
				rep.notifies[fmt.Sprintf("POST /pay/notify → %d", a.Status)]++
			}
		}
	}
	return rep, nil
}

// setup creates the product and the campaign the virtual users buy and claim.
func (l *loader) setup(ctx context.Context) error {
	if st, err := l.json(ctx, "", "POST", "/products", l.admin,
		`{"sku":"latte","title":"Latte","price":2800,"stock":100000000}`, nil); err != nil || st != 201 {
		return fmt.Errorf("load: creating the product: %d %v", st, err)
	}
	var c struct {
		Campaign struct {
			ID string `json:"id"`
		} `json:"campaign"`
	}
	st, err := l.json(ctx, "", "POST", "/campaigns", l.admin,
		`{"title":"load","discount":{"amount_off":500},"min_spend":1000,"stock":10000000,"per_user_limit":1,"valid_days":30}`, &c)
	if err != nil || st != 201 {
		return fmt.Errorf("load: creating the campaign: %d %v", st, err)
	}
	l.campaign = c.Campaign.ID
	return nil
}

// usersPerWorker spreads a worker's requests over this many openids, so
// that each stays under the per-openid limits, as real users do.
const usersPerWorker = 100

// user is one virtual user slot: log in as the next test user, look at the
// shop, claim the coupon, order (with the coupon when claimed), and pay.
func (l *loader) user(ctx context.Context, w int) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("load-%d-%d", w, i%usersPerWorker)
		var code struct{ Code string }
		if _, err := l.json(ctx, "", "POST", "/_emulator/login-code", "", `{"user":"`+name+`"}`, &code); err != nil {
			continue
		}
		var lg struct{ Token string }
		if st, _ := l.json(ctx, "POST /login", "POST", "/login", "", `{"code":"`+code.Code+`"}`, &lg); st != 200 {
			continue
		}
		l.json(ctx, "GET /products", "GET", "/products", "", "", nil)
		l.json(ctx, "GET /campaigns", "GET", "/campaigns", "", "", nil)
		var cl struct {
			Coupon struct {
				ID string `json:"id"`
			} `json:"coupon"`
		}
		l.json(ctx, "POST /coupons/claim", "POST", "/coupons/claim", lg.Token, `{"campaign_id":"`+l.campaign+`"}`, &cl)
		body := `{"items":[{"sku":"latte","quantity":1}]}`
		if cl.Coupon.ID != "" {
			body = `{"items":[{"sku":"latte","quantity":1}],"coupon_id":"` + cl.Coupon.ID + `"}`
		}
		var o struct {
			Order struct {
				ID         string `json:"id"`
				OutTradeNo string `json:"out_trade_no"`
			} `json:"order"`
		}
		if st, _ := l.json(ctx, "POST /orders", "POST", "/orders", lg.Token, body, &o); st != 201 {
			continue
		}
		// "The user pays": the Pay emulator sends the notify to /pay/notify.
		l.json(ctx, "", "POST", "/_emulator/pay/"+o.Order.OutTradeNo, "", "", nil)
		l.json(ctx, "GET /orders/{id}", "GET", "/orders/"+o.Order.ID, lg.Token, "", nil)
	}
}

// json sends one request and records it under route ("" records nothing).
func (l *loader) json(ctx context.Context, route, method, path, token, body string, out any) (int, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		if method == "POST" {
			req.Header.Set("Idempotency-Key", fmt.Sprintf("load-%d", time.Now().UnixNano()))
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := l.client.Do(req)
	status := 0
	if err == nil {
		status = res.StatusCode
		if out != nil {
			err = json.NewDecoder(res.Body).Decode(out)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	took := time.Since(start)
	if route != "" && !(status == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded)) { // the run's end cuts requests short
		l.mu.Lock()
		l.samples = append(l.samples, sample{route: route, status: status, took: took})
		l.mu.Unlock()
	}
	return status, err
}

func (r *loadReport) serverErrors() int {
	n := 0
	for _, s := range r.samples {
		if s.status >= 500 || s.status == 0 {
			n++
		}
	}
	for k, c := range r.notifies {
		if strings.HasSuffix(k, "→ 0") || strings.Contains(k, "→ 5") {
			n += c
		}
	}
	return n
}

func (r *loadReport) print(w io.Writer, dur time.Duration, conc int) {
	by := map[string][]sample{}
	for _, s := range r.samples {
		by[s.route] = append(by[s.route], s)
	}
	routes := slices.Sorted(func(yield func(string) bool) {
		for k := range by {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Fprintf(w, "minifn load: %s, %d virtual users, %d requests, %.0f req/s\n\n",
		dur, conc, len(r.samples), float64(len(r.samples))/dur.Seconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\trequests\treq/s\tp50 ms\tp99 ms\t2xx\t4xx\t5xx+failed\t")
	for _, route := range routes {
		ss := by[route]
		ds := make([]time.Duration, len(ss))
		classes := map[int]int{}
		for i, s := range ss {
			ds[i] = s.took
			classes[min(s.status/100, 5)]++
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t\n", route, len(ss), float64(len(ss))/dur.Seconds(),
			ms(ds[len(ds)/2]), ms(ds[min(len(ds)-1, len(ds)*99/100)]), classes[2], classes[4], classes[5]+classes[0])
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.notifies {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(w, "%s: %d (sent by the Pay emulator)\n", k, r.notifies[k])
	}
	fmt.Fprintf(w, "errors (5xx or failed requests): %d\n", r.serverErrors())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
