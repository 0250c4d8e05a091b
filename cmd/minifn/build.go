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

	"github.com/minifn/minifn/shared/functions"
)

// cloud is one deployment target of `minifn build`.
type cloud struct {
	name   string
	goos   string
	goarch string
	// goarchLevel pins the instruction-set level (GOAMD64, GOARM64) to the
	// baseline, so that a GOAMD64=v3 in the developer's shell cannot make a
	// zip that crashes on older cloud hosts, and every machine builds the
	// same bytes.
	goarchLevel string
	binary      string   // the executable's name in the zip
	tags        []string // build tags besides the store ones
	stores      []string // network store backends built in by default
}

var clouds = []cloud{
	// provided.al2023 on Graviton: the runtime execs ./bootstrap.
	// lambda.norpc drops aws-lambda-go's net/rpc mode, which provided.al2023
	// never uses, and with it our SCF adapter (it needs net/rpc): about 2 MB
	// less, and less to start.
	{name: "lambda", goos: "linux", goarch: "arm64", goarchLevel: "GOARM64=v8.0", binary: "bootstrap",
		tags: []string{"lambda.norpc"}, stores: []string{"dynamodb"}},
	// SCF Go1 runtime: execs `main` (the handler), which serves net/rpc, so
	// no lambda.norpc here. PostgreSQL (TencentDB) is the store there.
	{name: "scf", goos: "linux", goarch: "amd64", goarchLevel: "GOAMD64=v1", binary: "main",
		stores: []string{"postgres"}},
}

// storeTags maps each network store backend to the build tag that leaves it
// out (shared/app/store_*.go); bolt is always built in.
var storeTags = map[string]string{"dynamodb": "nodynamo", "postgres": "nopostgres"}

// scfBootstrap starts the binary as an SCF web function, which must listen
// on 0.0.0.0:9000. Event functions ignore it and run `main` on the Go1
// runtime. Requests reach a web function through Tencent's front end (API
// gateway or function URL), so the TCP peer is not the client:
// MINIFN_CLIENT_IP=scf-web takes the client from the headers the front end
// adds (shared/platform, docs/ratelimits.md).
const scfBootstrap = `#!/bin/sh
# SCF web function: serve plain HTTP on port 9000, whatever else is set,
# and take the client address from the headers SCF's front end adds.
unset _LAMBDA_SERVER_PORT AWS_LAMBDA_RUNTIME_API
export MINIFN_ADDR=0.0.0.0:9000
export MINIFN_CLIENT_IP=scf-web
exec "$(dirname "$0")/main"
`

func buildCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("build")
	only := fs.String("cloud", "", "lambda or scf (default: both)")
	dist := fs.String("out", "dist", "output directory")
	stores := fs.String("stores", "", "network store backends to build in: dynamodb, postgres, both (comma-separated) or none (default: dynamodb for lambda, postgres for scf)")
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
	if *stores != "" {
		list, err := parseStores(*stores)
		if err != nil {
			return err
		}
		for i := range targets {
			targets[i].stores = list
		}
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

// parseStores parses --stores.
func parseStores(v string) ([]string, error) {
	if v == "none" {
		return []string{}, nil
	}
	var list []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if _, ok := storeTags[s]; !ok {
			return nil, fmt.Errorf("%w: --stores takes dynamodb, postgres (comma-separated) or none, not %q", errUsage, s)
		}
		list = append(list, s)
	}
	return list, nil
}

// goFlags are the `go build` flags of c: the contract's (CGO off is in
// goEnv), and tags that leave out the store backends c does not use.
func (c cloud) goFlags() []string {
	tags := slices.Clone(c.tags)
	for backend, tag := range storeTags {
		if !slices.Contains(c.stores, backend) {
			tags = append(tags, tag)
		}
	}
	slices.Sort(tags)
	flags := []string{"-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}
	if len(tags) > 0 {
		flags = append([]string{"-tags", strings.Join(tags, ",")}, flags...)
	}
	return flags
}

// goEnv is the environment `go build` runs in for c, on top of the user's.
func (c cloud) goEnv() []string {
	return []string{"GOOS=" + c.goos, "GOARCH=" + c.goarch, c.goarchLevel, "CGO_ENABLED=0"}
}

// hasRoutes reports whether the function name serves HTTP (and so may run
// as an SCF web function); timer-only functions get no scf_bootstrap.
func hasRoutes(name string) bool {
	s, ok := functions.Lookup(name)
	return ok && len(s.Routes) > 0
}

// buildCloud compiles names for c with one go build (which compiles them in
// parallel) and packs each binary.
func buildCloud(ctx context.Context, root, dist string, c cloud, names []string, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "minifn-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := append([]string{"build"}, c.goFlags()...)
	args = append(args, "-o", tmp+string(filepath.Separator))
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), c.goEnv()...)
	cmd.Stdout, cmd.Stderr = out, out
	fmt.Fprintf(out, "%s go %s\n", strings.Join(c.goEnv(), " "), quoteArgs(args))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", c.name, err)
	}
	if err := os.MkdirAll(filepath.Join(dist, c.name), 0o755); err != nil {
		return err
	}
	for _, n := range names {
		if err := pack(root, dist, c, n, filepath.Join(tmp, n), out); err != nil {
			return err
		}
	}
	return nil
}

// pack writes the deployment files of function n from its binary: the zip
// dist/<cloud>/<n>.zip and, for SCF, the same files unpacked in
// dist/scf/<n>/ (the directory serverless.yml's multi-scf points each
// function at). It prints the zip's size.
func pack(root, dist string, c cloud, n, binPath string, out io.Writer) error {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return err
	}
	entries := []zipEntry{{name: c.binary, mode: 0o755, data: bin}}
	if c.name == "scf" && hasRoutes(n) {
		entries = append(entries, zipEntry{name: "scf_bootstrap", mode: 0o755, data: []byte(scfBootstrap)})
	}
	path := filepath.Join(dist, c.name, n+".zip")
	size, err := writeZip(path, entries)
	if err != nil {
		return err
	}
	if c.name == "scf" {
		if err := writeDir(filepath.Join(dist, c.name, n), entries); err != nil {
			return err
		}
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = path
	}
	_, err = fmt.Fprintf(out, "  %-30s %9d bytes %6.2f MiB  (%s %.2f MiB)\n",
		rel, size, mib(size), c.binary, mib(int64(len(bin))))
	return err
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// quoteArgs prints args the way a shell would take them back.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if strings.ContainsAny(a, " \t\"'") {
			q[i] = `"` + a + `"`
		}
	}
	return strings.Join(q, " ")
}

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
	return int64(buf.Len()), writeFileAtomic(path, buf.Bytes(), 0o644)
}

// writeDir replaces dir with a directory holding exactly entries, with
// their modes (the CLI that zips it keeps them) and the fixed time.
func writeDir(dir string, entries []zipEntry) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.name)
		if err := writeFileAtomic(p, e.data, e.mode); err != nil {
			return err
		}
		if err := os.Chtimes(p, zipTime, zipTime); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, with exactly mode (whatever the umask).
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
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
// that they are exactly the functions of functions.All: a directory without a Spec
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
	for _, s := range functions.All() {
		specs = append(specs, s.Name)
	}
	for _, d := range dirs {
		if !slices.Contains(specs, d) {
			return nil, fmt.Errorf("functions/%s has no Spec in shared/functions (add it to functions.All)", d)
		}
	}
	for _, s := range specs {
		if !slices.Contains(dirs, s) {
			return nil, fmt.Errorf("function %q (functions.All) has no functions/%s/main.go", s, s)
		}
	}
	return dirs, nil
}
