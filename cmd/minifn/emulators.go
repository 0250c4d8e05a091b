package main

import (
	"net/http"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// emulators are the emulated WeChat servers that `dev`, `invoke` and
// `emulator` serve. Their paths do not collide with minifn's routes, so dev
// serves them on its own address.
//
// WeChat Pay's emulator joins here: a field, its paths (/v3/) in routes, and
// its variables in configure.
type emulators struct {
	wechat *emulator.Emulator
}

func newEmulators(now func() time.Time) *emulators {
	return &emulators{wechat: emulator.New(emulator.Options{Now: now})}
}

// routes returns the emulators' handlers by path prefix.
func (e *emulators) routes() map[string]http.Handler {
	wc := e.wechat.Handler()
	return map[string]http.Handler{
		"/sns/":       wc, // code2Session
		"/cgi-bin/":   wc, // access tokens, messages
		"/wxa/":       wc, // Mini-Program codes, phone numbers
		"/_emulator/": wc, // the developer control API: login codes for test users
	}
}

// handler serves the emulators alone (`minifn emulator`).
func (e *emulators) handler() http.Handler {
	mux := http.NewServeMux()
	for prefix, h := range e.routes() {
		mux.Handle(prefix, h)
	}
	return mux
}

// configure points every server whose credentials cfg lacks at the
// emulators served at base, and reports which it did.
func configure(cfg *app.Config, base string) (wechat bool) {
	if !cfg.HasWeChat() {
		cfg.WechatAppid, cfg.WechatSecret, cfg.WechatAPIBase = emulator.DevAppID, emulator.DevSecret, base
		wechat = true
	}
	return wechat
}
