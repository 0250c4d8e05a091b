// Package app wires one minifn process: it reads the configuration (the
// MINIFN_ variables of ../shared/CONTRACT.md, through envconfig), opens the
// store and builds the clients every function shares, and runs a function
// on its platform (Main).
//
// Only main packages, the Specs' Build functions and cmd/minifn see an
// *App: handlers and domain packages are given the store, clients, clock and
// the settings of their own Config section, never the App.
//
// # Configuration
//
// The environment is read once per start, in Main (LoadConfig: one envconfig
// pass filling one Config, sections included), checked once (Validate, in
// Open), and reaches the services only through Build, section by section.
// Tests and the dev tool build a Config value and give it to Open, with a
// store of their own in Options when they have one: no test sets the
// environment to configure a function. docs/architecture.md walks it.
//
// # Cold start
//
// Open does no network call and nothing a particular function may not need:
// it opens the store handle (a file for bolt; a client for the network
// backends, which connect on first use) and builds the cheap shared parts.
// Per-function services are built by that function's Spec.Build.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/minifn/minifn/shared/accesslog"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// App holds what a running function shares.
type App struct {
	Config   Config // validated: Build reads its sections
	Store    store.Store
	Sessions *session.Sessions
	// WeChat is nil when MINIFN_WECHAT_APPID is unset; a function that
	// needs it fails at start (see RequireWeChat).
	WeChat *wechat.Client
	// Now is the clock of the whole process (store expiry, tokens, business
	// times); tests replace it.
	Now func() time.Time

	ownStore bool // Open opened Store, and Close closes it
}

// Options adjusts Open for tests and the dev tool.
type Options struct {
	Now func() time.Time // nil: time.Now
	// Store, when set, is used instead of opening MINIFN_STORE (which is
	// then neither checked nor opened); its owner closes it, not Close.
	Store store.Store
}

// Open validates cfg and builds the App. Its error is one line naming the
// offending variable.
func Open(ctx context.Context, cfg Config, o Options) (*App, error) {
	if err := cfg.validate(o.Store == nil); err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	st, own := o.Store, false
	if st == nil {
		su, _ := ParseStore(cfg.Store) // Validate checked it
		var err error
		if st, err = openStore(ctx, su, now); err != nil {
			return nil, err
		}
		own = true
	}
	a := &App{
		Config:   cfg,
		Store:    st,
		Sessions: session.New([]byte(cfg.SessionSecret), cfg.SessionTTL, string(cfg.AdminToken), now),
		Now:      now,
		ownStore: own,
	}
	if cfg.HasWeChat() {
		a.WeChat = wechat.New(wechat.Config{
			AppID: cfg.WechatAppid, Secret: string(cfg.WechatSecret), BaseURL: cfg.WechatAPIBase,
			Store: st, Now: now,
		})
	}
	return a, nil
}

// Close releases the store Open opened (not one given in Options).
func (a *App) Close() error {
	if !a.ownStore {
		return nil
	}
	return a.Store.Close()
}

// RequireWeChat returns an error naming the variable when the WeChat
// client is not configured; Builds of functions that call WeChat start
// with it.
func (a *App) RequireWeChat() error {
	if a.WeChat == nil {
		return errors.New("MINIFN_WECHAT_APPID and MINIFN_WECHAT_SECRET are required by this function")
	}
	return nil
}

// Spec describes one function. The Specs live with their feature's handlers
// in shared/functions/<feature>fn, and shared/functions lists them all.
type Spec struct {
	// Name is the function's directory under functions/ and its name on the
	// cloud (lambda zip, SCF function).
	Name string
	// Routes are the patterns its Handler serves ("POST /login"), exactly.
	// Empty for a timer-only function.
	Routes []string
	// Build makes the function from the shared App: one httpapi.Router
	// serving exactly Routes, each route registered with its whole
	// middleware chain (session, rate limit), and/or a timer Job. It builds
	// each service with pkg.New(a.Store, pkg.Options{…}), giving it only
	// its own settings from a.Config's sections. It does only its own
	// function's work: it is the cold start of that binary.
	Build func(*App) (platform.Function, error)
}

// Main is a function binary's whole life: read the configuration (the one
// read of the environment), open the App, build the function of spec and
// run it on its platform (platform.Run, which also recovers panics).
// Any start error is one line on stderr ("minifn: …") and exit status 1.
func Main(spec Spec) {
	// One JSON object a line on stdout, which Lambda and SCF send to
	// CloudWatch Logs and CLS (SCF documents capturing standard output:
	// https://cloud.tencent.com/document/product/583/60336; README, "Logs").
	// Building it costs nothing.
	slog.SetDefault(slog.New(accesslog.NewHandler(os.Stdout)))
	cfg, err := LoadConfig()
	if err != nil {
		fatal(err)
	}
	a, err := Open(context.Background(), cfg, Options{})
	if err != nil {
		fatal(err)
	}
	f, err := spec.Build(a)
	if err != nil {
		a.Close()
		fatal(err)
	}
	if f.Handler != nil {
		f.Handler = accesslog.Named(spec.Name, f.Handler)
	}
	platform.Run(f)
	a.Close()
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "minifn: %v\n", err)
	os.Exit(1)
}
