package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/minifn/minifn/shared/platform/awslambda"
)

// mode is one way of running: chosen when env is set, started by start.
type mode struct {
	env   string
	start func(f Function, value string) error
}

// modes lists the event platforms in the order they are tried; HTTP is the
// fallback. Lambda comes first: its Go runtime never sets _LAMBDA_SERVER_PORT
// any more, while SCF never sets AWS_LAMBDA_RUNTIME_API.
func modes() []mode {
	return []mode{
		{"AWS_LAMBDA_RUNTIME_API", startLambda},
		{"_LAMBDA_SERVER_PORT", startSCF},
	}
}

// Run runs f in the mode its environment calls for and blocks. A fatal start
// error (bad configuration, address in use) is printed as one line on
// stderr and the process exits 1.
func Run(f Function) {
	if err := run(f, os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "minifn: %v\n", err)
		os.Exit(1)
	}
}

func run(f Function, getenv func(string) string) error {
	if f.Handler == nil && f.Job == nil {
		return errors.New("the function has neither a handler nor a job")
	}
	base := getenv("MINIFN_BASE_PATH")
	if err := checkBasePath(base); err != nil {
		return err
	}
	if f.Handler != nil && base != "" {
		f.Handler = stripBasePath(base, f.Handler)
	}
	clientIP, err := clientIPFrom(getenv)
	if err != nil {
		return err
	}
	if m, value, ok := modeFor(getenv); ok {
		return m.start(f, value)
	}
	addr := listenAddr(getenv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (MINIFN_ADDR/PORT): %w", addr, err)
	}
	// Only the HTTP server shuts down on signals: Lambda and SCF end their
	// processes themselves, and catching SIGTERM there would keep them alive.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return serveFunction(ctx, f, ln, clientIP)
}

// modeFor returns the event platform the environment names, if any.
func modeFor(getenv func(string) string) (mode, string, bool) {
	for _, m := range modes() {
		if v := getenv(m.env); v != "" {
			return m, v, true
		}
	}
	return mode{}, "", false
}

// listenAddr is MINIFN_ADDR, else ":"+PORT, else loopback port 8080.
func listenAddr(getenv func(string) string) string {
	if a := getenv("MINIFN_ADDR"); a != "" {
		return a
	}
	if p := getenv("PORT"); p != "" {
		return ":" + p
	}
	return "127.0.0.1:8080"
}

func checkBasePath(base string) error {
	if base != "" && (!strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/")) {
		return fmt.Errorf("MINIFN_BASE_PATH %q must start with / and not end with /", base)
	}
	return nil
}

func startLambda(f Function, _ string) error {
	awslambda.Start(&awslambda.Handler{HTTP: f.Handler, Job: f.Job})
	return errors.New("the Lambda runtime loop returned")
}

// Invoke runs one event in-process through the adapter of kind ("lambda" or
// "scf") and returns the platform response JSON. An error is what the
// platform would have reported as a failed invocation. minifn invoke uses it.
func Invoke(ctx context.Context, f Function, kind string, event []byte) ([]byte, error) {
	switch kind {
	case "lambda":
		return (&awslambda.Handler{HTTP: f.Handler, Job: f.Job}).Invoke(ctx, event)
	case "scf":
		return invokeSCF(ctx, f, event)
	}
	return nil, fmt.Errorf("unknown platform %q: want lambda or scf", kind)
}
