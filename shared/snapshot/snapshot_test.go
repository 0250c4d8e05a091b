package snapshot

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestWriterWritesChangesAtomically: a change is written within Interval,
// mode 0600, with no temporary file left; Close writes the last state;
// Load reads it back; a nil Writer does nothing.
func TestWriterWritesChangesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	var mu sync.Mutex
	n := 1
	w := NewWriter(path, func() any { mu.Lock(); defer mu.Unlock(); return map[string]int{"n": n} })
	w.Changed()
	var got map[string]int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if found, err := Load(path, &got); err != nil || (found && got["n"] == 1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not written")
		}
	}
	mu.Lock()
	n = 2
	mu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if found, err := Load(path, &got); !found || err != nil || got["n"] != 2 {
		t.Fatalf("after Close: %v %v %v", got, found, err)
	}
	fi, _ := os.Stat(path)
	entries, _ := os.ReadDir(dir)
	if fi.Mode().Perm() != 0o600 || len(entries) != 1 {
		t.Fatalf("mode %v, files %v", fi.Mode(), entries)
	}
	var nilW *Writer
	nilW.Changed()
	if err := nilW.Close(); err != nil || nilW.Path() != "" {
		t.Fatal("a nil Writer did something")
	}
	if found, err := Load(filepath.Join(dir, "none.json"), &got); found || err != nil {
		t.Fatalf("a missing file: %v %v", found, err)
	}
}
