package app

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/minifn/minifn/shared/session"
)

// Config is the contract's configuration table (../shared/CONTRACT.md).
// Each field's tag spells its variable's whole name, and envconfig is called
// with no prefix: a prefix with a tag would make envconfig fall back to the
// unprefixed name (STORE, ADDR), which a shell may well hold for something
// else, and split_words derives names with regular expressions on every
// start, which cost a Lambda cold start up to a millisecond (BENCHMARKS.md).
//
// It is read once per start (LoadConfig, one envconfig pass over every
// field, the sections' too) and checked once (Validate, which Open calls).
// The sections are embedded, not named fields: envconfig would prefix a
// named struct's variables with the field's name. Each function's Build
// hands each service only its own section (docs/architecture.md).
//
// A zero section is valid and means: rate limits off, no points, the
// default share-code limit, no risk check, the default subscribe page and
// state, virtual shipping. Tests build a Config as a value and give it to
// Open; only the process (Main, minifn dev) reads the environment.
type Config struct {
	Store string `envconfig:"MINIFN_STORE" default:"bolt:minifn.db" desc:"bolt:PATH, dynamodb:TABLE or postgres://…"`

	WechatAppid   string `envconfig:"MINIFN_WECHAT_APPID" desc:"Mini-Program appid"`
	WechatSecret  Secret `envconfig:"MINIFN_WECHAT_SECRET" desc:"Mini-Program AppSecret"`
	WechatAPIBase string `envconfig:"MINIFN_WECHAT_API_BASE" default:"https://api.weixin.qq.com" desc:"base URL of the WeChat API"`

	// The message push (function wx-push): the Token and EncodingAESKey of
	// the push configuration in the Mini-Program admin (docs/push.md).
	WechatPushToken  Secret `envconfig:"MINIFN_WECHAT_PUSH_TOKEN" desc:"Token of the message push configuration; required by wx-push"`
	WechatPushAESKey Secret `envconfig:"MINIFN_WECHAT_PUSH_AES_KEY" desc:"EncodingAESKey (43 characters) of the message push: safe mode; unset: plain mode"`

	SessionSecret Secret        `envconfig:"MINIFN_SESSION_SECRET" desc:"HMAC key of session tokens, at least 32 bytes"`
	SessionTTL    time.Duration `envconfig:"MINIFN_SESSION_TTL" default:"2h" desc:"session token lifetime"`
	AdminToken    Secret        `envconfig:"MINIFN_ADMIN_TOKEN" desc:"bearer token of the admin API; unset: admin routes refuse"`

	PayMchid       string `envconfig:"MINIFN_PAY_MCHID" desc:"WeChat Pay merchant id"`
	PayCertSerial  string `envconfig:"MINIFN_PAY_CERT_SERIAL" desc:"serial number of the merchant API certificate"`
	PayPrivateKey  PEM    `envconfig:"MINIFN_PAY_PRIVATE_KEY" desc:"merchant API private key: PEM text or a file path"`
	PayApiv3Key    Secret `envconfig:"MINIFN_PAY_APIV3_KEY" desc:"APIv3 key, 32 bytes"`
	PayPublicKeyID string `envconfig:"MINIFN_PAY_PUBLIC_KEY_ID" desc:"WeChat Pay public key id (PUB_KEY_ID_…)"`
	PayPublicKey   PEM    `envconfig:"MINIFN_PAY_PUBLIC_KEY" desc:"WeChat Pay public key: PEM text or a file path"`
	PayAPIBase     string `envconfig:"MINIFN_PAY_API_BASE" default:"https://api.mch.weixin.qq.com" desc:"base URL of WeChat Pay"`
	PayNotifyURL   string `envconfig:"MINIFN_PAY_NOTIFY_URL" desc:"public HTTPS URL of the pay-notify function"`

	OrderTTL time.Duration `envconfig:"MINIFN_ORDER_TTL" default:"15m" desc:"unpaid orders are closed after this"`

	// Addr is where the HTTP mode listens. Unset, it is ":$PORT" when PORT
	// is set (platforms that assign a port), else 127.0.0.1:8080.
	Addr string `envconfig:"MINIFN_ADDR" desc:"listen address of the HTTP mode (PORT is honoured too)"`

	RateLimits // MINIFN_RATE_*: ratelimit.go
	Engage     // points, share codes, subscribe messages: engage.go
	Risk       // MINIFN_RISK_*: risk.go
	Shipping   // MINIFN_SHIPPING_MODE: shipping.go
	Wallet     // MINIFN_WALLET: wallet.go
	Booking    // the booking reminder: booking.go
}

// DefaultAddr is the listen address when neither MINIFN_ADDR nor PORT is set.
const DefaultAddr = "127.0.0.1:8080"

// Secret is a string that never prints: fmt shows "[hidden]" for a set one.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[hidden]"
}

// GoString hides the secret from %#v too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// PEM is PEM text given inline or read from a file. An inline value may have
// its newlines written as the two characters \n, since some consoles flatten
// multi-line environment variables.
type PEM []byte

// Decode implements envconfig.Decoder. Its errors never quote the value: it
// may be a private key.
func (p *PEM) Decode(v string) error {
	if v == "" {
		// Set but empty, as deployment templates write an unused optional
		// parameter: the same as unset.
		*p = nil
		return nil
	}
	var b []byte
	if strings.Contains(v, "-----BEGIN ") {
		if !strings.Contains(v, "\n") {
			v = strings.ReplaceAll(v, `\n`, "\n")
		}
		b = []byte(v)
	} else {
		var err error
		if b, err = os.ReadFile(v); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return errors.New("must be PEM text or the path of a PEM file, and no such file exists")
			}
			return errors.New("must be PEM text or the path of a readable PEM file")
		}
	}
	if blk, _ := pem.Decode(b); blk == nil {
		return errors.New("holds no PEM block (-----BEGIN …-----)")
	}
	*p = b
	return nil
}

func (p PEM) String() string {
	if len(p) == 0 {
		return ""
	}
	return "[PEM]"
}

// GoString hides the key from %#v too.
func (p PEM) GoString() string { return `"` + p.String() + `"` }

// LoadConfig reads the configuration from the process environment, in one
// envconfig pass: the only read of the MINIFN_ variables in a process (Main,
// and the dev tool). It only parses: Validate (which Open calls) checks that
// the values fit together, so that the dev tool can fill in what it
// generates first.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, configError(err)
	}
	if c.Addr == "" {
		if port, ok := os.LookupEnv("PORT"); ok && port != "" {
			c.Addr = ":" + port
		}
	}
	return c, nil
}

// configError turns envconfig's error into one line that names the
// variable and never quotes its value (envconfig's own message does).
func configError(err error) error {
	var pe *envconfig.ParseError
	switch {
	case !errors.As(err, &pe):
		return err
	case pe.TypeName == "time.Duration":
		return fmt.Errorf("%s must be a duration such as 2h or 15m", pe.KeyName)
	case pe.TypeName == "app.PEM":
		return fmt.Errorf("%s %v", pe.KeyName, pe.Err) // Decode's errors never quote the value
	case pe.TypeName == "ratelimit.Rules":
		return fmt.Errorf("%s: %v", pe.KeyName, pe.Err) // limits are not secret
	}
	return fmt.Errorf("%s is malformed", pe.KeyName)
}

// Validate checks the configuration and fills in derived defaults. Its
// error is one line naming the first offending variable.
func (c *Config) Validate() error { return c.validate(true) }

// validate is Validate, without the check of MINIFN_STORE when the store is
// given to Open rather than opened.
func (c *Config) validate(withStore bool) error {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	checks := []func() error{
		func() error {
			if !withStore {
				return nil
			}
			_, err := ParseStore(c.Store)
			return err
		},
		c.validateWeChat,
		c.validateSession,
		c.validatePay,
		func() error {
			if c.OrderTTL < 2*time.Minute {
				// An order's time_expire is created+TTL, sent to WeChat Pay a
				// moment later; WeChat Pay raises one under a minute ahead to
				// a minute (WECHAT-PROTOCOLS.md §1.6), so a TTL near a minute
				// would let a payment outlive the order. Two leave room.
				return errors.New("MINIFN_ORDER_TTL must be at least 2m (WeChat Pay keeps a payment open at least 1 minute after the prepay)")
			}
			return nil
		},
		c.Engage.validate,
		c.Risk.validate,
		c.Shipping.validate,
		c.Wallet.validate,
		c.Booking.validate,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateWeChat() error {
	switch {
	case c.WechatAppid == "" && c.WechatSecret != "":
		return errors.New("MINIFN_WECHAT_APPID is required when MINIFN_WECHAT_SECRET is set")
	case c.WechatAppid != "" && c.WechatSecret == "":
		return errors.New("MINIFN_WECHAT_SECRET is required when MINIFN_WECHAT_APPID is set")
	}
	return checkBaseURL("MINIFN_WECHAT_API_BASE", c.WechatAPIBase)
}

func (c *Config) validateSession() error {
	switch {
	case c.SessionSecret == "":
		return errors.New("MINIFN_SESSION_SECRET is required: at least 32 random bytes, e.g. from `openssl rand -hex 32`")
	case len(c.SessionSecret) < session.MinSecret:
		return fmt.Errorf("MINIFN_SESSION_SECRET must be at least %d bytes", session.MinSecret)
	case c.SessionTTL < time.Minute || c.SessionTTL > 30*24*time.Hour:
		return errors.New("MINIFN_SESSION_TTL must be between 1m and 720h")
	case c.AdminToken != "" && len(c.AdminToken) < 16:
		// A short bearer token on a public URL is guessable.
		return errors.New("MINIFN_ADMIN_TOKEN must be at least 16 bytes")
	}
	return nil
}

func (c *Config) validatePay() error {
	merchant := []struct {
		name string
		set  bool
	}{
		{"MINIFN_PAY_MCHID", c.PayMchid != ""},
		{"MINIFN_PAY_CERT_SERIAL", c.PayCertSerial != ""},
		{"MINIFN_PAY_PRIVATE_KEY", len(c.PayPrivateKey) > 0},
		{"MINIFN_PAY_APIV3_KEY", c.PayApiv3Key != ""},
	}
	var some bool
	for _, m := range merchant {
		some = some || m.set
	}
	for _, m := range merchant {
		if some && !m.set {
			return fmt.Errorf("%s is required when any MINIFN_PAY_ merchant variable is set", m.name)
		}
	}
	switch {
	case c.PayApiv3Key != "" && len(c.PayApiv3Key) != 32:
		return errors.New("MINIFN_PAY_APIV3_KEY must be 32 bytes")
	case c.PayPublicKeyID != "" && len(c.PayPublicKey) == 0:
		return errors.New("MINIFN_PAY_PUBLIC_KEY is required when MINIFN_PAY_PUBLIC_KEY_ID is set")
	case c.PayPublicKeyID == "" && len(c.PayPublicKey) > 0:
		return errors.New("MINIFN_PAY_PUBLIC_KEY_ID is required when MINIFN_PAY_PUBLIC_KEY is set")
	case c.PayNotifyURL != "" && !notifyURLOK(c.PayNotifyURL):
		return errors.New("MINIFN_PAY_NOTIFY_URL must be an https:// URL (WeChat Pay calls only HTTPS; http only on loopback, for the emulator)")
	case c.PayNotifyURL != "" && strings.Contains(c.PayNotifyURL, "?"):
		return errors.New("MINIFN_PAY_NOTIFY_URL must not have a query string")
	}
	return checkBaseURL("MINIFN_PAY_API_BASE", c.PayAPIBase)
}

// notifyURLOK accepts https URLs, and http ones on loopback for the emulator.
func notifyURLOK(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return false
	}
	switch h := u.Hostname(); u.Scheme {
	case "https":
		return true
	case "http":
		return h == "127.0.0.1" || h == "localhost" || h == "::1"
	}
	return false
}

// checkBaseURL accepts absolute http(s) URLs: http for emulators on loopback.
func checkBaseURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("%s must be an absolute http(s) URL without a query", name)
	}
	return nil
}

// HasWeChat reports whether the Mini-Program's credentials are set.
func (c *Config) HasWeChat() bool { return c.WechatAppid != "" }

// HasPay reports whether the WeChat Pay merchant is configured.
func (c *Config) HasPay() bool { return c.PayMchid != "" }
