package platform_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Binaries built once for the whole test run with the flags minifn build
// uses: lambda.norpc for Lambda (which leaves the SCF adapter out), none for
// SCF and HTTP.
var bin struct{ echo, echoLambda, hello string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "minifn-platform-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.echo, bin.echoLambda, bin.hello = filepath.Join(dir, "echofn"), filepath.Join(dir, "echofn-lambda"), filepath.Join(dir, "hellofn")
	// Reading the mains makes go test's cache notice when they change; the
	// platform packages they build from are imported by these tests anyway.
	for _, src := range []string{"internal/echofn/main.go", "internal/hellofn/main.go"} {
		if _, err := os.ReadFile(src); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, b := range []struct {
		out, pkg string
		lambda   bool
	}{{bin.echo, "./internal/echofn", false}, {bin.echoLambda, "./internal/echofn", true}, {bin.hello, "./internal/hellofn", true}} {
		if err := build(b.out, b.pkg, b.lambda); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(out, pkg string, lambda bool) error {
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", out}
	if lambda {
		args = append(args, "-tags", "lambda.norpc")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}
