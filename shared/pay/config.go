package pay

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// DefaultBaseURL is WeChat Pay's API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Config holds a direct merchant's WeChat Pay settings (MINIFN_PAY_*).
type Config struct {
	AppID       string          // the mini-program's appid, bound to MchID
	MchID       string          // merchant id
	CertSerial  string          // serial of the merchant API certificate (signs requests)
	PrivateKey  *rsa.PrivateKey // merchant API private key
	APIv3Key    string          // 32-byte APIv3 key (decrypts notifies)
	PublicKeyID string          // WeChat Pay public key id, PUB_KEY_ID_…; optional
	PublicKey   *rsa.PublicKey  // WeChat Pay public key (verifies responses and notifies); optional
	// Store caches the platform certificates fleet-wide (certificate mode).
	// Required without PublicKey; with it, certificates verify what a serial
	// other than PublicKeyID signs (a merchant switching modes). Without a
	// Store, only the public key verifies.
	Store     store.Store
	BaseURL   string       // default DefaultBaseURL; scheme and host only
	NotifyURL string       // the pay-notify function's public URL
	HTTP      *http.Client // default: a client with a 10 s timeout
	Now       func() time.Time
}

func (c *Config) validate() error {
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"AppID", c.AppID != ""}, {"MchID", c.MchID != ""}, {"CertSerial", c.CertSerial != ""},
		{"PrivateKey", c.PrivateKey != nil}, {"APIv3Key", c.APIv3Key != ""},
		{"PublicKeyID", c.PublicKeyID != "" || c.PublicKey == nil}, {"PublicKey", c.PublicKey != nil || c.PublicKeyID == ""},
		{"Store (certificate mode: no PublicKey)", c.PublicKey != nil || c.Store != nil}, {"NotifyURL", c.NotifyURL != ""},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("pay: missing config: %s", strings.Join(missing, ", "))
	}
	if len(c.APIv3Key) != 32 {
		// The length only: the key itself must never reach an error.
		return fmt.Errorf("pay: APIv3Key must be 32 bytes, got %d", len(c.APIv3Key))
	}
	if u, err := url.Parse(c.NotifyURL); err != nil || u.Host == "" || u.RawQuery != "" {
		return errors.New("pay: NotifyURL must be an absolute URL without a query string")
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("pay: BaseURL %q must be scheme://host[:port] with no path", c.BaseURL)
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
