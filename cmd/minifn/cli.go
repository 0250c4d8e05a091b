package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

const usage = `minifn: the developer tool of minifn

Usage:
  minifn dev [--addr A] [--dir D] [--fresh]
      every function on one local server (default 127.0.0.1:8080, or MINIFN_ADDR),
      store, generated secrets and the emulators' state under D (default ./.minifn),
      and the WeChat emulator on the same address unless MINIFN_WECHAT_APPID is set.
      --fresh: delete what dev keeps in D first, and start from nothing.
  minifn invoke FUNCTION --event FILE [--platform lambda|scf] [--dir D]
      run one function in-process on an event file; print the platform's response.
      Exit 0 when the function answered, even 4xx (its answer to the event);
      exit 1 on a 5xx, and when D's store is held by a running dev (use another D).
  minifn emulator [--addr A] [--dir D] [--state S]
      the WeChat and WeChat Pay emulators alone (default 127.0.0.1:9090), for
      binaries started by hand; prints the variables that point them at it.
      --state: keep their state in S across runs (default: none).
  minifn build [--cloud lambda|scf] [--stores LIST] [--out DIR] [FUNCTION...]
      dist/lambda/<function>.zip (bootstrap, linux/arm64) and
      dist/scf/<function>.zip (main linux/amd64 + scf_bootstrap); both clouds by default.
      --stores: the network stores built in besides bbolt (dynamodb, postgres);
      default dynamodb for lambda, postgres for scf.
` + loadUsage + `
Configuration: the MINIFN_ variables of the README.
`

// errUsage marks errors whose fix is in the usage text.
var errUsage = errors.New("usage")

// run is the whole command: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"dev":      devCmd,
		"invoke":   invokeCmd,
		"emulator": emulatorCmd,
		"build":    buildCmd,
		"load":     loadCmd, // load.go
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "minifn: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "minifn %s: %v\n\n%s", args[0], err, usage)
		return 2
	}
	fmt.Fprintf(stderr, "minifn %s: %v\n", args[0], err)
	return 1
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags that may stand before or after the positional
// arguments (`invoke login --event f` and `invoke --event f login`).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
