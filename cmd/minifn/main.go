// Command minifn is the developer tool of minifn: `dev` runs every function
// on one local server beside emulated WeChat servers, `invoke` runs one
// function on an event file, `emulator` serves the emulators alone, and
// `build` makes the zips to deploy. Run `minifn help` for the details.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
