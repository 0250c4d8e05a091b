package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/wechat/emulator"
)

func emulatorCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("emulator")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, rest[0])
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, `minifn emulator: WeChat on %[1]s

Point a function at it:
  MINIFN_WECHAT_API_BASE=%[1]s MINIFN_WECHAT_APPID=%[2]s MINIFN_WECHAT_SECRET=%[3]s
Mint a login code for a test user:
  curl -s -X POST %[1]s/_emulator/login-code -H 'Content-Type: application/json' -d '{"user":"alice"}'

`, base, emulator.DevAppID, emulator.DevSecret)
	return platform.Serve(ctx, ln, newEmulators(nil).handler())
}
