package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/bolt"
)

func invokeCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("invoke")
	event := fs.String("event", "", "event file (JSON)")
	kind := fs.String("platform", "lambda", "event format: lambda or scf")
	dir := fs.String("dir", defaultDir, "directory of the dev store and generated secrets")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *event == "" {
		return fmt.Errorf("%w: want FUNCTION and --event FILE", errUsage)
	}
	spec, ok := functions.Lookup(rest[0])
	if !ok {
		return fmt.Errorf("%w: no function named %q", errUsage, rest[0])
	}
	evt, err := os.ReadFile(*event)
	if err != nil {
		return err
	}
	cfg, err := devConfig(*dir)
	if err != nil {
		return err
	}
	if err := checkBoltFree(cfg.Store, *dir); err != nil {
		return err
	}
	// Servers left unconfigured are emulated for the run, on a loopback port.
	emu, err := newEmulators(nil)
	if err != nil {
		return err
	}
	defer emu.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu.handler()}
	go srv.Serve(ln)
	defer srv.Close()
	emu.configure(&cfg, "http://"+ln.Addr().String())
	return invoke(ctx, cfg, spec, *kind, evt, out)
}

// invoke runs one event through spec's function in-process, as the platform
// kind would deliver it, and prints the platform's response.
func invoke(ctx context.Context, cfg app.Config, spec functions.Spec, kind string, event []byte, out io.Writer) error {
	a, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	f, err := spec.Build(a)
	if err != nil {
		return err
	}
	res, err := platform.Invoke(ctx, f, kind, event)
	if err != nil {
		return fmt.Errorf("the invocation failed, as %s would report it: %w", kind, err)
	}
	if _, err := fmt.Fprintf(out, "%s\n", res); err != nil {
		return err
	}
	// The function's own 4xx is its answer to the event (exit 0); a 5xx
	// means it could not answer, and scripts should see that.
	var status struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(res, &status) == nil && status.StatusCode >= 500 {
		return fmt.Errorf("the function answered %d (the response is above)", status.StatusCode)
	}
	return nil
}

// checkBoltFree fails, naming the fix, when the bolt file of MINIFN_STORE is
// held by another process, usually a `minifn dev` on the same --dir: bbolt
// allows one process per file, and the function would only answer 503.
func checkBoltFree(storeVar, dir string) error {
	path, busy, err := boltBusy(storeVar)
	if busy {
		return fmt.Errorf("%s is locked by another process, usually a running `minifn dev` on --dir %s "+
			"(bbolt allows one process per file): stop it, or run invoke with another --dir "+
			"(e.g. --dir \"$(mktemp -d)\"), or send the request to dev over HTTP instead", path, dir)
	}
	return err
}

// boltBusy reports whether storeVar names a bbolt file that another
// process holds (path is the file).
func boltBusy(storeVar string) (path string, busy bool, err error) {
	u, err := app.ParseStore(storeVar)
	if err != nil || u.Kind != app.StoreBolt {
		return "", false, err
	}
	s, err := bolt.Open(u.Target, bolt.Options{LockTimeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrUnavailable) {
		return u.Target, true, nil
	}
	if err != nil {
		return u.Target, false, err
	}
	return u.Target, false, s.Close()
}
