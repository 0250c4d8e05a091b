package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

// emulatorCmd serves the WeChat and WeChat Pay emulators alone, for function
// binaries started by hand. It writes the generated merchant key and the
// emulator's public key to dir, since those variables take a file path.
func emulatorCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("emulator")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	dir := fs.String("dir", filepath.Join(defaultDir, "emulator"), "where the generated Pay keys are written")
	pushURL := fs.String("push-url", "http://127.0.0.1:8080/wx/push", "where the emulator sends message pushes (your wx-push)")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, rest[0])
	}
	emu, err := newEmulators(nil)
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
	keys, err := writeKeys(*dir, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, `minifn emulator: WeChat and WeChat Pay on %[1]s

Point a function at it:
  export MINIFN_WECHAT_API_BASE=%[1]s MINIFN_WECHAT_APPID=%[2]s MINIFN_WECHAT_SECRET=%[3]s
  export MINIFN_PAY_API_BASE=%[1]s MINIFN_PAY_MCHID=%[4]s MINIFN_PAY_CERT_SERIAL=%[5]s
  export MINIFN_PAY_APIV3_KEY=%[6]s MINIFN_PAY_PRIVATE_KEY=%[7]s
  export MINIFN_PAY_PUBLIC_KEY_ID=%[8]s MINIFN_PAY_PUBLIC_KEY=%[9]s
  export MINIFN_PAY_NOTIFY_URL=http://127.0.0.1:8080/pay/notify   # where your pay-notify function listens
Mint a login code for a test user:
  curl -s -X POST %[1]s/_emulator/login-code -H 'Content-Type: application/json' -d '{"user":"alice"}'
Pay a pending order ("the user pays now"):
  curl -s -X POST %[1]s/_emulator/pay/OUT_TRADE_NO
Message pushes go to %[10]s (safe mode); give your wx-push:
  export MINIFN_WECHAT_PUSH_TOKEN=%[11]s MINIFN_WECHAT_PUSH_AES_KEY=%[12]s
  curl -s -X POST %[1]s/_emulator/push -H 'Content-Type: application/json' -d '{"event":"subscribe_msg_popup_event","user":"alice"}'

`, base, cfg.WechatAppid, string(cfg.WechatSecret), cfg.PayMchid, cfg.PayCertSerial, string(cfg.PayApiv3Key),
		keys[0], cfg.PayPublicKeyID, keys[1], *pushURL, string(cfg.WechatPushToken), string(cfg.WechatPushAESKey))
	return platform.Serve(ctx, ln, emu.handler())
}

// writeKeys writes the emulated merchant's private key and the emulator's
// public key under dir and returns their paths. These keys exist only for
// this emulator run: nothing real is signed with them.
func writeKeys(dir string, cfg app.Config) ([2]string, error) {
	paths := [2]string{filepath.Join(dir, "merchant-key.pem"), filepath.Join(dir, "wechatpay-public-key.pem")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return paths, err
	}
	for i, b := range [][]byte{cfg.PayPrivateKey, cfg.PayPublicKey} {
		if err := os.WriteFile(paths[i], b, 0o600); err != nil {
			return paths, err
		}
	}
	return paths, nil
}
