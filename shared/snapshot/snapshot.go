// Package snapshot keeps an in-memory emulator's state in a JSON file, so
// that `minifn dev` can stop and start again where it was: the state is read
// once at start (Load) and written as a whole, atomically, soon after each
// change and at Close (Writer).
//
// A whole-file JSON snapshot rather than a key-value file (bbolt): an
// emulator's state is small, already held in maps behind a mutex, and read
// only at start; a snapshot needs no schema, stays readable to a developer
// wondering what the emulator saw, and takes no file lock, so nothing else
// contends for it. Writes go to a temporary file in the same directory,
// synced, then renamed over the old one: a crash leaves the old snapshot or
// the new one, never half of either. Changes are coalesced (at most one
// write per Interval), so a burst of requests costs one write.
//
// The files may hold private keys and session keys of emulated, dev-only
// credentials: they are written with mode 0600 and their content is never
// logged.
package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Interval is the longest a change waits before it is written.
const Interval = 200 * time.Millisecond

// Load reads the JSON file at path into v. found is false, with no error,
// when there is no such file (a first start).
func Load(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		// The message names the file, never its content (private keys).
		return false, fmt.Errorf("snapshot: %s is not a valid state file (delete it to start fresh): %v", path, jsonErrorKind(err))
	}
	return true, nil
}

// jsonErrorKind describes a decoding error without quoting the input.
func jsonErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	}
	return "undecodable JSON"
}

// Write writes v to path as JSON, atomically, with mode 0600.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

func writeFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	// CreateTemp makes the file 0600 already; Chmod makes it explicit.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Writer writes the value that state returns to a file after each Changed,
// coalescing changes within Interval. A nil *Writer does nothing, so that
// an emulator without a state file calls it all the same.
type Writer struct {
	path  string
	state func() any

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu   sync.Mutex // serialises writes
	last []byte     // what the file holds
}

// NewWriter starts a Writer of state's value to path. state is called from
// the Writer's goroutine and must lock what it reads.
func NewWriter(path string, state func() any) *Writer {
	w := &Writer{path: path, state: state, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// Path is the file written; "" for a nil Writer.
func (w *Writer) Path() string {
	if w == nil {
		return ""
	}
	return w.path
}

// Changed records that the state changed: it is written within Interval.
func (w *Writer) Changed() {
	if w == nil {
		return
	}
	select {
	case w.kick <- struct{}{}:
	default: // a write is pending already
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
		}
		t := time.NewTimer(Interval)
		select {
		case <-w.stop:
			t.Stop()
			return // Close writes
		case <-t.C:
		}
		if err := w.Flush(); err != nil {
			slog.Warn("the emulator state was not saved", "path", w.path, "err", err)
		}
	}
}

// Flush writes the state now, unless the file holds it already.
func (w *Writer) Flush() error {
	if w == nil {
		return nil
	}
	b, err := json.MarshalIndent(w.state(), "", " ")
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Equal(b, w.last) {
		return nil
	}
	if err := writeFile(w.path, b); err != nil {
		return err
	}
	w.last = b
	return nil
}

// Close stops the Writer and writes the state a last time.
func (w *Writer) Close() error {
	if w == nil {
		return nil
	}
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return w.Flush()
}
