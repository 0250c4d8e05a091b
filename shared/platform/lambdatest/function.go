package lambdatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/platform/internal/proc"
)

// Function is a built function binary running against its own fake Runtime
// API, as on Lambda.
type Function struct {
	*Server
	p *proc.Process
}

// Start runs binary with env plus AWS_LAMBDA_RUNTIME_API pointing at a fresh
// Server. Build the binary with -tags lambda.norpc, as for Lambda.
func Start(binary string, env []string) (*Function, error) {
	s, err := NewServer()
	if err != nil {
		return nil, err
	}
	p, err := proc.Start(binary, append(env, "AWS_LAMBDA_RUNTIME_API="+s.Addr()))
	if err != nil {
		s.Close()
		return nil, err
	}
	return &Function{Server: s, p: p}, nil
}

// Invoke is Server.Invoke that also gives up when the process exits.
func (f *Function) Invoke(ctx context.Context, event []byte) (response, errPayload []byte, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-f.p.Done():
			cancel(errors.New("lambdatest: the function process exited; output: " + f.p.Output()))
		case <-ctx.Done():
		}
	}()
	response, errPayload, err = f.Server.Invoke(ctx, event)
	if err != nil && context.Cause(ctx) != nil {
		err = context.Cause(ctx)
	}
	return response, errPayload, err
}

// Alive reports whether the process is still running.
func (f *Function) Alive() bool { return f.p.Alive() }

// Output is what the process printed so far.
func (f *Function) Output() string { return f.p.Output() }

// Close kills the process (SIGKILL, as Lambda does) and stops the server.
func (f *Function) Close() {
	f.p.Kill()
	f.Server.Close()
}

// ColdStart starts binary against a fresh fake Runtime API, sends it event,
// and returns the time from exec to the first response. An error payload
// (the function failed the event) is an error.
func ColdStart(ctx context.Context, binary string, env []string, event []byte) (time.Duration, error) {
	start := time.Now()
	f, err := Start(binary, env)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	_, errPayload, err := f.Invoke(ctx, event)
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if errPayload != nil {
		return 0, errors.New("lambdatest: the function failed: " + string(errPayload))
	}
	return elapsed, nil
}

// PeakRSS returns the process's peak resident set size so far (VmHWM), in
// bytes. Linux only.
func (f *Function) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", f.p.Pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("lambdatest: no VmHWM in /proc status")
}
