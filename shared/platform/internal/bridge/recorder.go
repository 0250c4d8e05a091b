package bridge

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
)

// Recorder is a buffering http.ResponseWriter. Unlike httptest.ResponseRecorder
// it lives outside test code and sniffs a missing Content-Type the way
// net/http's server does, so a handler answers the same in every mode.
type Recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; only the first call counts.
func (r *Recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.header.Get("Content-Type") == "" && r.body.Len() == 0 && len(b) > 0 {
		r.header.Set("Content-Type", http.DetectContentType(b))
	}
	return r.body.Write(b)
}

// Flush implements http.Flusher as a no-op: the whole body is sent at the end.
func (r *Recorder) Flush() {}

// Reset forgets everything written so far.
func (r *Recorder) Reset() {
	r.header = http.Header{}
	r.status = 0
	r.body.Reset()
}

// Status is the response status (200 if the handler never set one).
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Body is the response body.
func (r *Recorder) Body() []byte { return r.body.Bytes() }

// IsText reports whether a body of this Content-Type can travel as a JSON
// string; anything else (images, octet streams, unknown types) is sent base64.
func IsText(contentType string) bool {
	if contentType == "" {
		return true // no body, or a handler that wrote nothing
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}
