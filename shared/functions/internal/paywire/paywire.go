// Package paywire builds the WeChat Pay client of the functions that take
// payments (orderfn: orders; walletfn: top-ups; giftcardfn: gift cards) from the app's
// configuration. It is its own package so that each of those functions
// links WeChat Pay without linking the other's domain: the wallet binary
// carries no orders, coupons or points (docs/architecture.md).
package paywire

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/pay"
)

// Client builds the WeChat Pay client from the MINIFN_PAY_ variables (and
// MINIFN_WECHAT_APPID, the appid payments are made for). It parses the keys,
// so only the functions that take payments (the order functions, wallet)
// call it, once, in their Build: the others never load a key, nor link
// WeChat Pay. Its error names the missing or malformed variables, never a
// value.
func Client(a *app.App) (*pay.Client, error) {
	c := a.Config
	var missing []string
	for _, v := range []struct {
		name string
		set  bool
	}{
		{"MINIFN_WECHAT_APPID", c.WechatAppid != ""},
		{"MINIFN_PAY_MCHID", c.PayMchid != ""},
		{"MINIFN_PAY_CERT_SERIAL", c.PayCertSerial != ""},
		{"MINIFN_PAY_PRIVATE_KEY", len(c.PayPrivateKey) > 0},
		{"MINIFN_PAY_APIV3_KEY", c.PayApiv3Key != ""},
		{"MINIFN_PAY_NOTIFY_URL", c.PayNotifyURL != ""},
	} {
		if !v.set {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("this function needs WeChat Pay: set %s", strings.Join(missing, ", "))
	}
	key, err := pay.LoadPrivateKey(string(c.PayPrivateKey))
	if err != nil {
		return nil, errors.New("MINIFN_PAY_PRIVATE_KEY: " + strings.TrimPrefix(err.Error(), "pay: "))
	}
	// The mode: with MINIFN_PAY_PUBLIC_KEY(_ID), the public key verifies,
	// and platform certificates only what another serial signs (a merchant
	// switching); without them, platform certificates, cached in the store.
	var pub *rsa.PublicKey
	if len(c.PayPublicKey) > 0 {
		if pub, err = pay.LoadPublicKey(string(c.PayPublicKey)); err != nil {
			return nil, errors.New("MINIFN_PAY_PUBLIC_KEY: " + strings.TrimPrefix(err.Error(), "pay: "))
		}
	}
	cl, err := pay.New(pay.Config{
		AppID: c.WechatAppid, MchID: c.PayMchid, CertSerial: c.PayCertSerial, PrivateKey: key,
		APIv3Key: string(c.PayApiv3Key), PublicKeyID: c.PayPublicKeyID, PublicKey: pub, Store: a.Store,
		BaseURL: strings.TrimRight(c.PayAPIBase, "/"), NotifyURL: c.PayNotifyURL, Now: a.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("WeChat Pay configuration: %w", err)
	}
	return cl, nil
}
