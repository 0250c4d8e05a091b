package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions"
)

// buildOnce runs `minifn build --out dir args...` in-process and returns
// what it printed.
func buildOnce(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"build", "--out", dir}, args...)
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("minifn %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestBuild builds one function for both clouds, twice, with the real go
// toolchain: each zip holds what its runtime execs (a static ELF for the
// right machine), with fixed modes and times; the second build is
// byte-identical to the first; the printed sizes are the files' sizes.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a function for two clouds")
	}
	out1, out2 := t.TempDir(), t.TempDir()
	printed := buildOnce(t, out1, "login")
	buildOnce(t, out2, "login")

	want := map[string]struct {
		entries map[string]os.FileMode
		machine elf.Machine
		binary  string
	}{
		"lambda/login.zip": {map[string]os.FileMode{"bootstrap": 0o755}, elf.EM_AARCH64, "bootstrap"},
		"scf/login.zip":    {map[string]os.FileMode{"main": 0o755, "scf_bootstrap": 0o755}, elf.EM_X86_64, "main"},
	}
	for name, w := range want {
		a, err := os.ReadFile(filepath.Join(out1, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out2, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same tree", name)
		}
		checkPrintedSize(t, printed, filepath.Join(out1, name), len(a))
		files := readZip(t, name, a)
		got := map[string]os.FileMode{}
		var names []string
		for _, f := range files {
			got[f.name] = f.mode
			names = append(names, f.name)
			if !f.modified.Equal(zipTime) {
				t.Errorf("%s %s: time %v, want the fixed %v", name, f.name, f.modified, zipTime)
			}
		}
		if !reflect.DeepEqual(got, w.entries) || !slices.IsSorted(names) {
			t.Errorf("%s entries %v (order %v), want %v", name, got, names, w.entries)
		}
		bin := files[slices.IndexFunc(files, func(f zipFileT) bool { return f.name == w.binary })].data
		checkELF(t, name, bin, w.machine)
		if name == "scf/login.zip" {
			checkSCFDir(t, filepath.Join(out1, "scf", "login"), files)
		}
	}
	script := readZip(t, "scf", mustRead(t, filepath.Join(out1, "scf/login.zip")))[1].data
	if !bytes.HasPrefix(script, []byte("#!/bin/sh\n")) || !bytes.Contains(script, []byte("MINIFN_ADDR=0.0.0.0:9000")) ||
		!bytes.Contains(script, []byte(`exec "$(dirname "$0")/main"`)) {
		t.Errorf("scf_bootstrap does not start main on 0.0.0.0:9000:\n%s", script)
	}
}

// TestBuildTimerHasNoBootstrap: a timer-only function cannot be a web
// function, so its SCF zip holds main alone.
func TestBuildTimerHasNoBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a function")
	}
	out := t.TempDir()
	buildOnce(t, out, "--cloud", "scf", "order-expire")
	var names []string
	for _, f := range readZip(t, "scf", mustRead(t, filepath.Join(out, "scf/order-expire.zip"))) {
		names = append(names, f.name)
	}
	if !reflect.DeepEqual(names, []string{"main"}) {
		t.Fatalf("scf/order-expire.zip holds %v, want [main]", names)
	}
	if _, err := os.Stat(filepath.Join(out, "lambda")); !os.IsNotExist(err) {
		t.Fatalf("--cloud scf also built for lambda (%v)", err)
	}
}

// TestMakefileBuildsWhatMinifnBuilds runs the Makefile's SAM target the way
// `sam build` does and checks the bootstrap is byte-for-byte the one in
// minifn build's zip: the two cannot drift apart in flags.
func TestMakefileBuildsWhatMinifnBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a function twice")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, artifacts := t.TempDir(), t.TempDir()
	buildOnce(t, out, "--cloud", "lambda", "login")
	cmd := exec.Command("make", "-s", "build-LoginFunction", "ARTIFACTS_DIR="+artifacts)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-LoginFunction: %v\n%s", err, msg)
	}
	made := mustRead(t, filepath.Join(artifacts, "bootstrap"))
	zipped := readZip(t, "lambda", mustRead(t, filepath.Join(out, "lambda/login.zip")))[0].data
	if !bytes.Equal(made, zipped) {
		t.Fatal("make build-LoginFunction and minifn build --cloud lambda give different binaries")
	}
}

func TestFunctionDirsMatchCatalog(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := functionDirs(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range functions.All() {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(dirs, names) {
		t.Fatalf("functions/ %v, functions.All %v", dirs, names)
	}
}

// TestGoFlags pins the contract's flags and the store tags of each cloud.
func TestGoFlags(t *testing.T) {
	cases := []struct{ stores, lambda, scf string }{
		{"", "-tags lambda.norpc,nopostgres", "-tags nodynamo"},
		{"none", "-tags lambda.norpc,nodynamo,nopostgres", "-tags nodynamo,nopostgres"},
		{"dynamodb,postgres", "-tags lambda.norpc", ""},
		{"postgres", "-tags lambda.norpc,nodynamo", "-tags nodynamo"},
	}
	const common = "-trimpath -buildvcs=false -ldflags -s -w"
	for _, c := range cases {
		lambda, scf := clouds[0], clouds[1]
		if c.stores != "" {
			stores, err := parseStores(c.stores)
			if err != nil {
				t.Fatal(err)
			}
			lambda.stores, scf.stores = stores, stores
		}
		for _, x := range []struct {
			cl   cloud
			want string
		}{{lambda, c.lambda}, {scf, c.scf}} {
			want := strings.TrimSpace(x.want + " " + common)
			if got := strings.Join(x.cl.goFlags(), " "); got != want {
				t.Errorf("--stores %q, %s: go build %s, want %s", c.stores, x.cl.name, got, want)
			}
		}
	}
	for _, bad := range []string{"redis", "bolt", "dynamodb,", ""} {
		if _, err := parseStores(bad); err == nil {
			t.Errorf("--stores %q accepted", bad)
		}
	}
	if env := strings.Join(clouds[0].goEnv(), " "); env != "GOOS=linux GOARCH=arm64 GOARM64=v8.0 CGO_ENABLED=0" {
		t.Errorf("lambda env %s", env)
	}
	if env := strings.Join(clouds[1].goEnv(), " "); env != "GOOS=linux GOARCH=amd64 GOAMD64=v1 CGO_ENABLED=0" {
		t.Errorf("scf env %s", env)
	}
}

func TestBuildUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"build", "--cloud", "gcp"},
		{"build", "nope"},
		{"build", "--stores", "redis"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// zipFileT is one entry of a zip, read whole.
type zipFileT struct {
	name     string
	mode     os.FileMode
	modified time.Time
	data     []byte
}

func readZip(t *testing.T, name string, b []byte) []zipFileT {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var files []zipFileT
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s %s: %v", name, f.Name, err)
		}
		files = append(files, zipFileT{name: f.Name, mode: f.Mode(), modified: f.Modified, data: data})
	}
	return files
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkELF checks that bin is a static executable for machine: no program
// interpreter means it was linked with CGO off.
func checkELF(t *testing.T, name string, bin []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: not an ELF file: %v", name, err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: %v %v %v, want a %v executable", name, f.Machine, f.Type, f.OSABI, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", name)
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table: built without -ldflags -s", name)
	}
}

// checkSCFDir checks that dir (what serverless.yml's multi-scf packs for
// one function) holds exactly the zip's files, with their modes.
func checkSCFDir(t *testing.T, dir string, files []zipFileT) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(files) {
		t.Fatalf("%s holds %d files, the zip %d", dir, len(ents), len(files))
	}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.mode.Perm() || !bytes.Equal(mustRead(t, filepath.Join(dir, f.name)), f.data) {
			t.Errorf("%s/%s differs from the zip's (mode %v)", dir, f.name, st.Mode())
		}
	}
}

// checkPrintedSize checks that build printed path with its size in bytes.
func checkPrintedSize(t *testing.T, printed, path string, size int) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(path) + `\s+(\d+) bytes\s+\d+\.\d\d MiB`)
	m := re.FindStringSubmatch(printed)
	if m == nil {
		t.Errorf("build did not print the size of %s:\n%s", path, printed)
		return
	}
	if n, _ := strconv.Atoi(m[1]); n != size {
		t.Errorf("build printed %s bytes for %s, the file has %d", m[1], path, size)
	}
}

// TestSCFBootstrapEnvironment runs the scf_bootstrap minifn build writes,
// with a stand-in main that prints its environment: whatever SCF set, the
// binary starts in HTTP mode on 0.0.0.0:9000 and knows it sits behind
// Tencent's front end, whose TCP peer is not the client
// (MINIFN_CLIENT_IP=scf-web, shared/platform).
func TestSCFBootstrapEnvironment(t *testing.T) {
	dir := t.TempDir()
	boot, main := filepath.Join(dir, "scf_bootstrap"), filepath.Join(dir, "main")
	if err := os.WriteFile(boot, []byte(scfBootstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, []byte("#!/bin/sh\nenv\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(boot)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "_LAMBDA_SERVER_PORT=9001", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9", "MINIFN_CLIENT_IP=peer"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scf_bootstrap: %v", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	for k, want := range map[string]string{"MINIFN_ADDR": "0.0.0.0:9000", "MINIFN_CLIENT_IP": "scf-web", "_LAMBDA_SERVER_PORT": "", "AWS_LAMBDA_RUNTIME_API": ""} {
		if env[k] != want {
			t.Errorf("main saw %s=%q, want %q", k, env[k], want)
		}
	}
}
