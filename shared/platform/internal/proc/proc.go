// Package proc runs a built function binary for the test harnesses
// (lambdatest, scftest and the platform tests): it captures stderr, tells
// whether the process is still alive, and kills it like a platform would.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Process is a running binary.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu     sync.Mutex
	stderr bytes.Buffer
}

// Start runs binary with env added to a minimal environment (PATH, HOME and
// TMPDIR only, so a developer's AWS_* or MINIFN_* variables cannot leak in).
func Start(binary string, env []string) (*Process, error) {
	p := &Process{done: make(chan struct{})}
	p.cmd = exec.Command(binary)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, env...)
	p.cmd.Stderr = (*lockedWriter)(p)
	p.cmd.Stdout = (*lockedWriter)(p)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Alive reports whether the process has not exited.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed when the process exits.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status, or -1 while running or if killed by a signal.
func (p *Process) ExitCode() int {
	if p.Alive() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL, as Lambda and SCF do, and waits for it.
func (p *Process) Kill() {
	if p.Alive() {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// Output is what the process wrote to stdout and stderr so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// WaitOutput polls the output until re matches, and returns the first
// submatch (or the whole match). It fails if the process exits or ctx ends.
func (p *Process) WaitOutput(ctx context.Context, re *regexp.Regexp) (string, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m[len(m)-1], nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for %q in output %q: %w", re, p.Output(), ctx.Err())
		case <-p.done:
			if m := re.FindStringSubmatch(p.Output()); m != nil {
				return m[len(m)-1], nil
			}
			return "", fmt.Errorf("process exited (%d) before printing %q; output: %q", p.ExitCode(), re, p.Output())
		case <-tick.C:
		}
	}
}

type lockedWriter Process

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.Write(b)
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }
