package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/pay"
	payemu "github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// devMchID is the emulated merchant's id (WeChat Pay merchant ids are ten digits).
const devMchID = "1900000109"

// emulators are the emulated WeChat and WeChat Pay servers that `dev`,
// `invoke` and `emulator` serve. Their paths do not collide with minifn's
// routes, so dev serves them on its own address.
type emulators struct {
	wechat *emulator.Emulator
	pay    *payemu.Emulator
	// The emulated merchant: its key signs our requests to the Pay emulator,
	// which verifies them with the public half (nil when the merchant brought
	// its own key: paySettings.merchant).
	merchantKey *rsa.PrivateKey
	mchid       string
	payMode     string
	certSerial  string
	apiv3Key    string
	// Which emulators are served: both until configure finds real credentials.
	wechatOn, payOn bool
}

// newEmulators returns in-memory emulators with a generated merchant.
func newEmulators(now func() time.Time) (*emulators, error) {
	return newEmulatorsFor(now, paySettings{}, "")
}

// paySettings describe the emulated merchant when a client other than
// minifn's brings its own (`minifn emulator` flags); zero values are
// generated.
type paySettings struct {
	mode       string         // payemu.ModePublicKey (default) or payemu.ModeCertificate
	mchid      string         // default devMchID
	merchant   *rsa.PublicKey // the merchant's public key; default a generated pair
	certSerial string         // the merchant certificate serial its requests carry
	apiv3Key   string         // 32 bytes
}

// Files of the emulators' state in a state directory (`dev`'s directory,
// `emulator --state`): what a restart must not forget. They hold the
// emulated merchant's and WeChat Pay's private keys and the users' session
// keys, dev-only secrets: mode 0600, never logged.
const (
	wechatStateFile   = "wechat-emulator.json"
	payStateFile      = "pay-emulator.json"
	merchantKeyFile   = "pay-merchant-key.pem"
	merchantSerialKey = "pay-merchant-serial"
	merchantAPIv3File = "pay-merchant-apiv3-key"
)

// stateLockFile is held (a bbolt file's lock: portable, and bbolt is at
// hand) by the one process that writes a directory's emulator state.
const stateLockFile = "emulators.lock"

// stateFiles are every file the emulators keep in a state directory.
var stateFiles = []string{wechatStateFile, payStateFile, merchantKeyFile, merchantSerialKey, merchantAPIv3File, stateLockFile}

// lockState takes dir's emulator-state lock, or fails at once when another
// process holds it.
func lockState(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, stateLockFile)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 200 * time.Millisecond})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("another process (a minifn dev or emulator) keeps its emulators' state in %s", dir)
	}
	if err != nil {
		return nil, err
	}
	return func() { db.Close() }, nil
}

// newEmulatorsFor returns the emulators for s. With a state directory
// (stateDir not ""), they keep their state there across restarts: the
// generated merchant (key, certificate serial, APIv3 key), the Pay
// emulator's transactions, refunds, notifies and keys, the WeChat
// emulator's users, session keys, tokens and records (see each emulator's
// state file); without one they live in memory.
func newEmulatorsFor(now func() time.Time, s paySettings, stateDir string) (*emulators, error) {
	e := &emulators{certSerial: s.certSerial, apiv3Key: s.apiv3Key, mchid: s.mchid, payMode: s.mode, wechatOn: true, payOn: true}
	// The shipping APIs know the Pay emulator's payments (10060001 for an
	// unknown one, 10060004 once refunded); with a real WeChat Pay they take
	// every payment as known.
	e.wechat = emulator.New(emulator.Options{Now: now, Payments: e.payment})
	pub := s.merchant
	if pub == nil {
		key, err := merchantKey(stateDir)
		if err != nil {
			return nil, err
		}
		e.merchantKey, pub = key, &key.PublicKey
	}
	var err error
	if e.certSerial == "" {
		if e.certSerial, err = keptIn(stateDir, merchantSerialKey, 20); err != nil {
			return nil, err
		}
		e.certSerial = strings.ToUpper(e.certSerial) // as WeChat Pay writes serials
	}
	if e.apiv3Key == "" {
		if e.apiv3Key, err = keptIn(stateDir, merchantAPIv3File, 16); err != nil {
			return nil, err
		}
	}
	if e.mchid == "" {
		e.mchid = devMchID
	}
	opts := payemu.Options{Now: now, Merchants: map[string]payemu.Merchant{
		e.mchid: {PublicKey: pub, CertSerial: e.certSerial, APIv3Key: e.apiv3Key, Mode: s.mode},
	}}
	if stateDir != "" {
		opts.StateFile = filepath.Join(stateDir, payStateFile)
	}
	e.pay, err = payemu.New(opts)
	if err != nil {
		return nil, fmt.Errorf("the WeChat Pay emulator: %w", err)
	}
	if stateDir != "" {
		if err := e.wechat.KeepState(filepath.Join(stateDir, wechatStateFile)); err != nil {
			e.pay.Close()
			return nil, fmt.Errorf("the WeChat emulator: %w", err)
		}
	}
	return e, nil
}

// keptIn is kept(dir/name, n) with a state directory, else n fresh random
// bytes in hex.
func keptIn(dir, name string, n int) (string, error) {
	if dir == "" {
		return randomHex(n), nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return kept(filepath.Join(dir, name), n)
}

// merchantKey returns the emulated merchant's key: the one kept in dir
// (generated there the first time), or a fresh one without dir.
func merchantKey(dir string) (*rsa.PrivateKey, error) {
	if dir != "" {
		path := filepath.Join(dir, merchantKeyFile)
		if _, err := os.Stat(path); err == nil {
			k, err := pay.LoadPrivateKey(path)
			if err != nil {
				// pay's message names the problem, never the key.
				return nil, fmt.Errorf("%s: %w (delete it, or start fresh)", path, err)
			}
			return k, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil || dir == "" {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return key, os.WriteFile(filepath.Join(dir, merchantKeyFile), pemBlock("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(key))), 0o600)
}

// payment is the WeChat emulator's view of a Pay emulator payment.
func (e *emulators) payment(tx, mchid, no string) (emulator.Payment, bool) {
	if !e.payOn || e.pay == nil {
		return emulator.Payment{TransactionID: tx, MchID: mchid, OutTradeNo: no, State: "SUCCESS"}, tx != "" || no != ""
	}
	p, ok := e.pay.Payment(tx, mchid, no)
	return emulator.Payment{AppID: p.AppID, MchID: p.MchID, OutTradeNo: p.OutTradeNo, TransactionID: p.TransactionID,
		OpenID: p.OpenID, State: p.State, PaidAt: p.PaidAt, Total: p.Total, Refunded: p.Refunded}, ok
}

// routes returns the emulators' handlers by path prefix. ServeMux picks the
// longest prefix, so the Pay emulator's control paths win over WeChat's.
func (e *emulators) routes() map[string]http.Handler {
	routes := map[string]http.Handler{}
	if wc := e.wechat.Handler(); e.wechatOn {
		routes["/sns/"] = wc       // code2Session
		routes["/cgi-bin/"] = wc   // access tokens, messages
		routes["/wxa/"] = wc       // Mini-Program codes, phone numbers
		routes["/_emulator/"] = wc // developer control: login codes for test users, calls, faults, pushes
	}
	if pc := e.pay.Handler(); e.payOn {
		routes["/v3/"] = pc            // WeChat Pay API v3
		routes["/_emulator/pay/"] = pc // "the user pays now", pending payments
		routes["/_emulator/notifies"] = pc
		routes["/_emulator/notifies/"] = pc // notify deliveries
		routes["/_emulator/refunds/"] = pc
		routes["/_emulator/certificates"] = pc
		routes["/_emulator/certificates/"] = pc // platform certificates: list, rotate
	}
	return routes
}

// handler serves the emulators alone (`minifn emulator`).
func (e *emulators) handler() http.Handler {
	mux := http.NewServeMux()
	for prefix, h := range e.routes() {
		mux.Handle(prefix, h)
	}
	return mux
}

// Close stops the Pay emulator's notify deliveries and writes the state
// files (with a state directory).
func (e *emulators) Close() error { return errors.Join(e.pay.Close(), e.wechat.Close()) }

// configure points every server whose credentials cfg lacks at the
// emulators served at base, and reports whether it did for each.
func (e *emulators) configure(cfg *app.Config, base string) (wechat, pay bool) {
	if !cfg.HasWeChat() {
		cfg.WechatAppid, cfg.WechatSecret, cfg.WechatAPIBase = emulator.DevAppID, emulator.DevSecret, base
		wechat = true
	}
	e.wechatOn = wechat
	if wechat && cfg.WechatPushToken != "" {
		// WeChat's message push goes to wx-push on the same address. The
		// key was generated by dev (or set by the developer): valid.
		if err := e.wechat.SetPush(emulator.PushConfig{URL: base + "/wx/push", Token: string(cfg.WechatPushToken),
			AESKey: string(cfg.WechatPushAESKey), AppID: cfg.WechatAppid}); err != nil {
			slog.Warn("the emulator sends no message push", "err", err)
		}
	}
	if !cfg.HasPay() {
		// With a merchant key of its own (another client), there is nothing
		// of ours to configure: the emulator serves Pay all the same.
		if e.merchantKey != nil {
			cfg.PayMchid, cfg.PayCertSerial, cfg.PayApiv3Key = e.mchid, e.certSerial, app.Secret(e.apiv3Key)
			cfg.PayPrivateKey = pemBlock("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(e.merchantKey)))
			cfg.PayAPIBase, cfg.PayNotifyURL = base, base+"/pay/notify"
			if e.payMode != payemu.ModeCertificate {
				// Certificate mode sets no public key: functions download certificates.
				pub, keyID := e.pay.PublicKey()
				cfg.PayPublicKeyID, cfg.PayPublicKey = keyID, pemBlock("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(pub)))
			}
		}
		pay = true
	}
	e.payOn = pay
	return wechat, pay
}

func pemBlock(typ string, der []byte) app.PEM {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// must is for marshalling keys this process just generated: it cannot fail.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
