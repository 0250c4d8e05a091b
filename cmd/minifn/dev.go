package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/platform"
)

// defaultDir holds what dev keeps between runs: the bolt file and the
// generated session secret, admin token and message push Token and AES key.
const defaultDir = ".minifn"

func devCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("dev")
	addr := fs.String("addr", "", "listen address (default MINIFN_ADDR, PORT, or 127.0.0.1:8080)")
	dir := fs.String("dir", defaultDir, "directory of the dev store, generated secrets and the emulators' state")
	fresh := fs.Bool("fresh", false, "start from nothing: delete the store, generated secrets and emulators' state in --dir first")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, rest[0])
	}
	if *fresh {
		if err := startFresh(*dir); err != nil {
			return err
		}
	}
	cfg, err := devConfig(*dir)
	if err != nil {
		return err
	}
	if *addr == "" {
		*addr = cfg.Addr
		if *addr == "" {
			*addr = app.DefaultAddr
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (another minifn dev? use --addr)", *addr, err)
	}
	d, err := newDev(ctx, cfg, "http://"+ln.Addr().String(), *dir, out)
	if err != nil {
		ln.Close()
		return err
	}
	defer d.Close()
	d.banner(out, *dir)
	go d.runJobs(ctx)
	return platform.Serve(ctx, ln, d.Handler)
}

// devConfig reads the environment and fills in what dev needs no one to
// set: a store under dir (unless MINIFN_STORE is set), and a session secret
// generated once and kept in dir.
func devConfig(dir string) (app.Config, error) {
	cfg, err := app.LoadConfig()
	if err != nil {
		return app.Config{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return app.Config{}, err
	}
	if _, set := os.LookupEnv("MINIFN_STORE"); !set {
		cfg.Store = "bolt:" + filepath.Join(dir, "minifn.db")
	}
	if cfg.SessionSecret == "" {
		s, err := kept(filepath.Join(dir, "session-secret"), 32)
		if err != nil {
			return app.Config{}, err
		}
		cfg.SessionSecret = app.Secret(s)
	}
	if cfg.WechatPushToken == "" {
		// The message push in safe mode, as WeChat's admin would configure
		// it: the emulator signs and encrypts its pushes with these.
		tok, err := kept(filepath.Join(dir, "push-token"), 16)
		if err != nil {
			return app.Config{}, err
		}
		key, err := kept(filepath.Join(dir, "push-aes-key"), 22) // 44 hex characters; an EncodingAESKey has 43
		if err != nil {
			return app.Config{}, err
		}
		cfg.WechatPushToken, cfg.WechatPushAESKey = app.Secret(tok), app.Secret(key[:43])
	}
	if cfg.AdminToken == "" {
		s, err := kept(filepath.Join(dir, "admin-token"), 24)
		if err != nil {
			return app.Config{}, err
		}
		cfg.AdminToken = app.Secret(s)
	}
	return cfg, nil
}

// startFresh deletes what dev keeps in dir (the bbolt file, the generated
// secrets, the emulators' state), and nothing else: dir may hold other
// files. A dev running on dir is refused, as bbolt's lock shows it.
func startFresh(dir string) error {
	db := filepath.Join(dir, "minifn.db")
	if _, err := os.Stat(db); err == nil {
		if _, busy, err := boltBusy("bolt:" + db); busy {
			return fmt.Errorf("--fresh: %s is locked by another process, usually a `minifn dev` on --dir %s: stop it first", db, dir)
		} else if err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, stateLockFile)); err == nil {
		release, err := lockState(dir)
		if err != nil {
			return fmt.Errorf("--fresh: %w: stop it first", err)
		}
		release()
	}
	files := append([]string{"minifn.db", "session-secret", "push-token", "push-aes-key", "admin-token"}, stateFiles...)
	for _, f := range files {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// kept returns the secret stored at path, generating n random bytes (in
// hex) the first time, so that tokens survive a restart of dev.
func kept(path string, n int) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 2*n {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, n)
	rand.Read(raw)
	s := hex.EncodeToString(raw)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

// dev is every function of functions.All on one handler, with the emulators.
type dev struct {
	Handler http.Handler
	URL     string
	App     *app.App
	Emu     *emulators // nil when every server is real
	specs   []functions.Spec
	jobs    map[string]func(context.Context) error
	skipped map[string]error
	log     io.Writer
	release func() // unlocks the emulators' state directory
}

// newDev opens the App on cfg (pointing unconfigured servers at the
// emulators served at base) and builds every function. The emulators keep
// their state in stateDir ("": in memory), so that a restart finds the
// payments and users the store refers to.
func newDev(ctx context.Context, cfg app.Config, base, stateDir string, log io.Writer) (*dev, error) {
	d := &dev{URL: base, specs: functions.All(), jobs: map[string]func(context.Context) error{},
		skipped: map[string]error{}, log: log, release: func() {}}
	if stateDir != "" {
		// One process writes a directory's emulator state. Another dev on
		// it starts all the same (its store answers 503 until the file is
		// free), with emulators in memory.
		release, err := lockState(stateDir)
		if err != nil {
			slog.Warn("the emulators' state is not kept in this run", "dir", stateDir, "err", err)
			stateDir = ""
		} else {
			d.release = release
		}
	}
	emu, err := newEmulatorsFor(time.Now, paySettings{}, stateDir)
	if err != nil {
		d.release()
		return nil, err
	}
	if wc, pay := emu.configure(&cfg, base); wc || pay {
		d.Emu = emu
	} else {
		emu.Close() // every server is real
	}
	a, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		emu.Close()
		d.release()
		return nil, err
	}
	d.App = a
	rt := httpapi.NewRouter()
	for _, s := range d.specs {
		f, err := s.Build(a)
		if err != nil {
			d.skipped[s.Name] = err
			continue
		}
		h := accesslog.Named(s.Name, f.Handler)
		for _, route := range s.Routes {
			rt.Handle(route, h)
		}
		if f.Job != nil {
			d.jobs[s.Name] = f.Job
		}
	}
	if d.Emu != nil {
		for prefix, h := range d.Emu.routes() {
			rt.Handle(prefix, accesslog.Named("emulator", h))
		}
	}
	rt.Handle("POST /_minifn/jobs/{name}", accesslog.Named("minifn", httpapi.Func(d.runJob)))
	// Every request logs its access line (shared/accesslog) through slog,
	// as on the clouds: on stderr, in the default text format here.
	d.Handler = rt
	return d, nil
}

// Close writes the emulators' state and releases the store.
func (d *dev) Close() error {
	if d.Emu != nil {
		d.Emu.Close()
	}
	d.release()
	return d.App.Close()
}

// banner prints what runs where and how to log in.
func (d *dev) banner(w io.Writer, dir string) {
	fmt.Fprintf(w, "minifn dev: %d functions on %s  (store %s)\n\n", len(d.specs)-len(d.skipped), d.URL, d.App.Config.Store)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range d.specs {
		if err, ok := d.skipped[s.Name]; ok {
			fmt.Fprintf(tw, "  %s\tnot running: %v\n", s.Name, err)
			continue
		}
		routes := strings.Join(s.Routes, ", ")
		if _, ok := d.jobs[s.Name]; ok {
			routes += fmt.Sprintf("  (timer: every minute, or POST /_minifn/jobs/%s)", s.Name)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", s.Name, routes)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nadmin token: %s  (kept in %s)\n", string(d.App.Config.AdminToken), filepath.Join(dir, "admin-token"))
	if d.Emu != nil && d.Emu.payOn {
		fmt.Fprintf(w, "WeChat Pay: emulated on %[1]s (merchant %[2]s); pay a pending order: curl -X POST %[1]s/_emulator/pay/OUT_TRADE_NO\n",
			d.URL, d.App.Config.PayMchid)
	}
	if d.Emu != nil && d.Emu.wechatOn && d.App.Config.WechatPushToken != "" {
		fmt.Fprintf(w, "message push: the emulator pushes to %[1]s/wx/push (Token and AES key kept in %[2]s); send one: curl -X POST %[1]s/_emulator/push -d '{\"event\":\"subscribe_msg_popup_event\",\"user\":\"alice\",\"fields\":{\"List\":{\"TemplateId\":\"T\",\"SubscribeStatusString\":\"accept\"}}}'\n",
			d.URL, dir)
	}
	fmt.Fprintf(w, "console: %s/admin/  (sign in with the admin token)\n", d.URL)
	if d.Emu == nil || !d.Emu.wechatOn {
		fmt.Fprintf(w, "WeChat: %s (appid %s)\n", d.App.Config.WechatAPIBase, d.App.Config.WechatAppid)
		return
	}
	fmt.Fprintf(w, "WeChat: emulated on %s (appid %s)\n\nLog in as a test user:\n", d.URL, d.App.Config.WechatAppid)
	fmt.Fprintf(w, `  json='Content-Type: application/json'
  code=$(curl -s -X POST %[1]s/_emulator/login-code -H "$json" -d '{"user":"alice"}' | sed -E 's/.*"code":"([^"]+)".*/\1/')
  token=$(curl -s -X POST %[1]s/login -H "$json" -d "{\"code\":\"$code\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -s %[1]s/me -H "Authorization: Bearer $token"

`, d.URL)
}

// runJob runs a timer function's job now: POST /_minifn/jobs/{name}.
func (d *dev) runJob(w http.ResponseWriter, r *http.Request) error {
	job, ok := d.jobs[r.PathValue("name")]
	if !ok {
		return httpapi.ErrNotFound.WithMessage("no timer function named %q", r.PathValue("name"))
	}
	if err := job(r.Context()); err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

// runJobs runs every timer job once a minute until ctx is done, as the
// clouds' schedules would.
func (d *dev) runJobs(ctx context.Context) {
	if len(d.jobs) == 0 {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for name, job := range d.jobs {
				if err := job(ctx); err != nil {
					slog.Error("timer job failed", "function", name, "err", err)
				}
			}
		}
	}
}
