// Package scftest drives a built function binary the way Tencent SCF's Go1
// runtime does: it starts the binary with _LAMBDA_SERVER_PORT set, then calls
// Function.Invoke (and Function.Ping) over net/rpc with scf-go-lib's own
// messages.InvokeRequest and messages.InvokeResponse, so the binary's
// cloudfunction.StartHandler serves exactly what it serves on SCF.
package scftest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"strconv"
	"sync"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/minifn/minifn/shared/platform/internal/proc"
)

// defaultLimit is the invocation deadline when ctx has none. SCF always sends
// one; scf-go-lib turns a zero deadline into an already expired context.
const defaultLimit = 60 * time.Second

// Function is a running binary and an rpc connection to it.
type Function struct {
	p      *proc.Process
	client *rpc.Client

	mu  sync.Mutex
	seq int
}

// Start runs binary with env plus _LAMBDA_SERVER_PORT set to a free port and
// waits until it answers Ping (or ctx ends, or it exits).
func Start(ctx context.Context, binary string, env []string) (*Function, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := proc.Start(binary, append(env, "_LAMBDA_SERVER_PORT="+port))
	if err != nil {
		return nil, err
	}
	client, err := dial(ctx, p, net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		p.Kill()
		return nil, err
	}
	f := &Function{p: p, client: client}
	if err := f.Ping(ctx); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// freePort asks the kernel for a port nobody uses right now; the binary
// listens on it a moment later (scf-go-lib takes a port, not a listener).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

func dial(ctx context.Context, p *proc.Process, addr string) (*rpc.Client, error) {
	for {
		if c, err := rpc.Dial("tcp", addr); err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("scftest: dial %s: %w; output: %s", addr, ctx.Err(), p.Output())
		case <-p.Done():
			return nil, fmt.Errorf("scftest: the function exited (%d); output: %s", p.ExitCode(), p.Output())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Ping calls Function.Ping, the runtime's liveness check.
func (f *Function) Ping(ctx context.Context) error {
	return f.call(ctx, "Function.Ping", &messages.PingRequest{}, &messages.PingResponse{})
}

// Invoke sends event as SCF would and returns the function's payload, or the
// error it reported (fnErr), or err if the call itself failed.
func (f *Function) Invoke(ctx context.Context, event []byte) (payload []byte, fnErr *messages.InvokeResponse_Error, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultLimit)
	}
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("scf-%08d-1a2b-3c4d-5e6f", f.seq)
	f.mu.Unlock()
	req := &messages.InvokeRequest{
		Payload:         event,
		RequestId:       id,
		Deadline:        messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		Namespace:       "default",
		FunctionName:    "minifn-test",
		FunctionVersion: "$LATEST",
		MemoryLimitInMb: 128,
		TimeLimitInMs:   int32(time.Until(deadline).Milliseconds()),
	}
	var res messages.InvokeResponse
	if err := f.call(ctx, "Function.Invoke", req, &res); err != nil {
		return nil, nil, err
	}
	return res.Payload, res.Error, nil
}

// call makes an rpc call that gives up when ctx ends or the process exits.
func (f *Function) call(ctx context.Context, method string, args, reply any) error {
	c := f.client.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-c.Done:
		return c.Error
	case <-ctx.Done():
		return ctx.Err()
	case <-f.p.Done():
		// The reply may have arrived just before the exit.
		select {
		case <-c.Done:
			return c.Error
		default:
		}
		return errors.New("scftest: the function process exited; output: " + f.p.Output())
	}
}

// LastRequestID is the id of the latest invocation, as the function saw it
// in functioncontext.
func (f *Function) LastRequestID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("scf-%08d-1a2b-3c4d-5e6f", f.seq)
}

// Alive reports whether the process is still running.
func (f *Function) Alive() bool { return f.p.Alive() }

// Output is what the process printed so far.
func (f *Function) Output() string { return f.p.Output() }

// Close drops the connection and kills the process.
func (f *Function) Close() {
	f.client.Close()
	f.p.Kill()
}
