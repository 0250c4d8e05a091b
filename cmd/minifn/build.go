package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/catalog"
)

// cloud is one deployment target of `minifn build`.
type cloud struct {
	name   string
	goos   string
	goarch string
	binary string // the executable's name in the zip
	extra  []zipEntry
}

// scfBootstrap starts the binary as an SCF web function, which must listen
// on 0.0.0.0:9000. Event functions ignore it and run `main` on the Go1
// runtime.
const scfBootstrap = `#!/bin/sh
export MINIFN_ADDR=0.0.0.0:9000
exec "$(dirname "$0")/main"
`

var clouds = []cloud{
	// provided.al2023 on Graviton: the runtime execs ./bootstrap.
	{name: "lambda", goos: "linux", goarch: "arm64", binary: "bootstrap"},
	{name: "scf", goos: "linux", goarch: "amd64", binary: "main",
		extra: []zipEntry{{name: "scf_bootstrap", mode: 0o755, data: []byte(scfBootstrap)}}},
}

func buildCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("build")
	only := fs.String("cloud", "", "lambda or scf (default: both)")
	dist := fs.String("out", "dist", "output directory")
	names, err := parse(fs, args)
	if err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	all, err := functionDirs(root)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		names = all
	}
	for _, n := range names {
		if !slices.Contains(all, n) {
			return fmt.Errorf("%w: no function %q under functions/", errUsage, n)
		}
	}
	var targets []cloud
	for _, c := range clouds {
		if *only == "" || *only == c.name {
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 {
		return fmt.Errorf("%w: --cloud must be lambda or scf", errUsage)
	}
	if !filepath.IsAbs(*dist) {
		*dist = filepath.Join(root, *dist)
	}
	for _, c := range targets {
		if err := buildCloud(ctx, root, *dist, c, names, out); err != nil {
			return err
		}
	}
	return nil
}

// buildCloud compiles names for c with one go build (which compiles them in
// parallel) and zips each binary.
func buildCloud(ctx context.Context, root, dist string, c cloud, names []string, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "minifn-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", tmp + string(filepath.Separator)}
	if c.name == "lambda" {
		// lambda.norpc drops aws-lambda-go's net/rpc mode, which
		// provided.al2023 never uses: a smaller binary, a faster start.
		args = append(args, "-tags", "lambda.norpc")
	}
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+c.goos, "GOARCH="+c.goarch, "CGO_ENABLED=0")
	cmd.Stderr = out
	fmt.Fprintf(out, "GOOS=%s GOARCH=%s CGO_ENABLED=0 go %s\n", c.goos, c.goarch, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", c.name, err)
	}
	if err := os.MkdirAll(filepath.Join(dist, c.name), 0o755); err != nil {
		return err
	}
	for _, n := range names {
		bin, err := os.ReadFile(filepath.Join(tmp, n))
		if err != nil {
			return err
		}
		entries := append([]zipEntry{{name: c.binary, mode: 0o755, data: bin}}, c.extra...)
		path := filepath.Join(dist, c.name, n+".zip")
		size, err := writeZip(path, entries)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(out, "  %-32s %7.2f MiB  (%s %.2f MiB)\n", rel, mib(size), c.binary, mib(int64(len(bin))))
	}
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// zipEntry is one file of a deployment zip.
type zipEntry struct {
	name string
	mode fs.FileMode
	data []byte
}

// zipTime is every entry's timestamp: a fixed one, so that the same
// binaries give byte-identical zips (and unchanged functions are not
// redeployed).
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// writeZip writes entries, sorted by name, with fixed times and modes, to
// path (through a temporary file, so a failed build leaves no torn zip), and
// returns the zip's size.
func writeZip(path string, entries []zipEntry) (int64, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b zipEntry) int { return strings.Compare(a.name, b.name) })
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(e.data); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return int64(buf.Len()), os.Rename(tmp, path)
}

// moduleRoot finds the directory of minifn's go.mod, from the working
// directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/minifn/minifn\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the minifn module: run build from the repository")
		}
		dir = parent
	}
}

// functionDirs lists functions/*/ that hold a main.go, sorted, and checks
// that they are exactly the catalog's functions: a directory without a Spec
// (or a Spec without a directory) would deploy something dev never runs.
func functionDirs(root string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			dirs = append(dirs, e.Name())
		}
	}
	var specs []string
	for _, s := range catalog.All() {
		specs = append(specs, s.Name)
	}
	for _, d := range dirs {
		if !slices.Contains(specs, d) {
			return nil, fmt.Errorf("functions/%s has no Spec in shared/catalog (add it to catalog.All)", d)
		}
	}
	for _, s := range specs {
		if !slices.Contains(dirs, s) {
			return nil, fmt.Errorf("catalog function %q has no functions/%s/main.go", s, s)
		}
	}
	return dirs, nil
}
