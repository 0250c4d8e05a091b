package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/pay"
	payemu "github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// emulatorCmd serves the WeChat and WeChat Pay emulators alone, for function
// binaries started by hand or for a WeChat Pay client of any stack. It writes
// the generated merchant key and the emulator's public key to dir, since
// those variables take a file path. The Pay flags set the merchant a foreign
// client brings (its mchid, certificate serial, public key, APIv3 key) and
// how the emulator signs (--pay-mode). With --state, the emulators keep their
// state (and the generated merchant) in that directory across runs, as
// `dev` does in its own.
func emulatorCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("emulator")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	dir := fs.String("dir", filepath.Join(defaultDir, "emulator"), "where the generated Pay keys are written")
	mode := fs.String("pay-mode", payemu.ModePublicKey, "how WeChat Pay signs answers and notifies: public_key or certificate")
	mchid := fs.String("pay-mchid", devMchID, "the emulated merchant id")
	merchantKey := fs.String("pay-merchant-public-key", "", "PEM file of the merchant's public key (or API certificate) that verifies its requests; default: a generated pair")
	serial := fs.String("pay-merchant-serial", "", "the merchant API certificate serial its requests carry (hex, either case); default: generated")
	apiv3 := fs.String("pay-apiv3-key", "", "the merchant's 32-byte APIv3 key; default: generated")
	pushURL := fs.String("push-url", "http://127.0.0.1:8080/wx/push", "where the emulator sends message pushes (your wx-push)")
	state := fs.String("state", "", "keep the emulators' state (transactions, notifies, keys, users, tokens…) in this directory across runs; default: none, each run starts empty")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, rest[0])
	}
	s := paySettings{mode: *mode, mchid: *mchid, certSerial: *serial, apiv3Key: *apiv3}
	switch {
	case s.mode != payemu.ModePublicKey && s.mode != payemu.ModeCertificate:
		return fmt.Errorf("%w: --pay-mode must be public_key or certificate", errUsage)
	case s.apiv3Key != "" && len(s.apiv3Key) != 32:
		return fmt.Errorf("%w: --pay-apiv3-key must be 32 bytes", errUsage)
	case (*merchantKey == "") != (s.certSerial == ""):
		return fmt.Errorf("%w: --pay-merchant-public-key and --pay-merchant-serial go together", errUsage)
	}
	if *merchantKey != "" {
		pub, err := loadMerchantPublicKey(*merchantKey)
		if err != nil {
			return err
		}
		s.merchant = pub
	}
	if *state != "" {
		release, err := lockState(*state)
		if err != nil {
			return err
		}
		defer release()
	}
	emu, err := newEmulatorsFor(nil, s, *state)
	if err != nil {
		return err
	}
	defer emu.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	// A Token and AES key for this run's message pushes (safe mode).
	cfg := app.Config{WechatPushToken: app.Secret(randomHex(16)), WechatPushAESKey: app.Secret(randomHex(22)[:43])}
	emu.configure(&cfg, base)
	if err := emu.wechat.SetPush(emulator.PushConfig{URL: *pushURL, Token: string(cfg.WechatPushToken),
		AESKey: string(cfg.WechatPushAESKey), AppID: cfg.WechatAppid}); err != nil {
		ln.Close()
		return err
	}
	keys, err := writeKeys(*dir, cfg, emu.pay.PublicKeyPEM())
	if err != nil {
		ln.Close()
		return err
	}
	_, keyID := emu.pay.PublicKey()
	fmt.Fprintf(out, "minifn emulator: WeChat and WeChat Pay on %[1]s\n\n", base)
	if emu.merchantKey != nil {
		fmt.Fprintf(out, `Point a function at it:
  export MINIFN_WECHAT_API_BASE=%[1]s MINIFN_WECHAT_APPID=%[2]s MINIFN_WECHAT_SECRET=%[3]s
  export MINIFN_PAY_API_BASE=%[1]s MINIFN_PAY_MCHID=%[4]s MINIFN_PAY_CERT_SERIAL=%[5]s
  export MINIFN_PAY_APIV3_KEY=%[6]s MINIFN_PAY_PRIVATE_KEY=%[7]s
`, base, cfg.WechatAppid, string(cfg.WechatSecret), cfg.PayMchid, cfg.PayCertSerial, string(cfg.PayApiv3Key), keys[0])
		if cfg.PayPublicKeyID != "" {
			fmt.Fprintf(out, "  export MINIFN_PAY_PUBLIC_KEY_ID=%s MINIFN_PAY_PUBLIC_KEY=%s\n", cfg.PayPublicKeyID, keys[1])
		}
		fmt.Fprintf(out, "  export MINIFN_PAY_NOTIFY_URL=http://127.0.0.1:8080/pay/notify   # where your pay-notify function listens\n")
	} else {
		fmt.Fprintf(out, "WeChat Pay merchant %s (its own key and serial; APIv3 key as given)\n", emu.mchid)
	}
	fmt.Fprintf(out, `WeChat Pay signs with: %[2]s (public key id %[3]s, PEM in %[4]s;
  platform certificates: GET %[1]s/v3/certificates, or unsigned GET %[1]s/_emulator/certificates)
Mint a login code for a test user:
  curl -s -X POST %[1]s/_emulator/login-code -H 'Content-Type: application/json' -d '{"user":"alice"}'
Pay a pending order ("the user pays now"):
  curl -s -X POST %[1]s/_emulator/pay/OUT_TRADE_NO
Message pushes go to %[5]s (safe mode); give your wx-push:
  export MINIFN_WECHAT_PUSH_TOKEN=%[6]s MINIFN_WECHAT_PUSH_AES_KEY=%[7]s
  curl -s -X POST %[1]s/_emulator/push -H 'Content-Type: application/json' -d '{"event":"subscribe_msg_popup_event","user":"alice"}'

`, base, s.mode, keyID, keys[1], *pushURL, string(cfg.WechatPushToken), string(cfg.WechatPushAESKey))
	return platform.Serve(ctx, ln, emu.handler())
}

// loadMerchantPublicKey reads the merchant's public key from a PEM file: a
// public key, or its API certificate (apiclient_cert.pem).
func loadMerchantPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--pay-merchant-public-key: %w", err)
	}
	if block, _ := pem.Decode(data); block != nil && block.Type == "CERTIFICATE" {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("--pay-merchant-public-key: the certificate does not parse")
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok {
			return k, nil
		}
		return nil, errors.New("--pay-merchant-public-key: not an RSA certificate")
	}
	k, err := pay.LoadPublicKey(path)
	if err != nil {
		return nil, fmt.Errorf("--pay-merchant-public-key: %s", strings.TrimPrefix(err.Error(), "pay: "))
	}
	return k, nil
}

// writeKeys writes the emulated merchant's private key (when generated) and
// the emulator's public key under dir and returns their paths. These keys
// exist only for this emulator run: nothing real is signed with them.
func writeKeys(dir string, cfg app.Config, platformPub string) ([2]string, error) {
	paths := [2]string{filepath.Join(dir, "merchant-key.pem"), filepath.Join(dir, "wechatpay-public-key.pem")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return paths, err
	}
	for i, b := range [][]byte{cfg.PayPrivateKey, []byte(platformPub)} {
		if len(b) == 0 {
			paths[i] = ""
			continue
		}
		if err := os.WriteFile(paths[i], b, 0o600); err != nil {
			return paths, err
		}
	}
	return paths, nil
}
