// Command echofn is the function the platform tests build and drive in every
// mode (Lambda, SCF, HTTP). It answers /echo/… with what it saw of the
// request, serves a PNG, sets cookies and a repeated header, panics on
// demand, and has a job that appends a line to the file named by
// ECHOFN_JOB_FILE. ECHOFN_KIND=http drops the job, ECHOFN_KIND=job drops the
// handler, to test what each mode does with events the function cannot take.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/requestid"
)

// Seen is what /echo answers: the request as the handler saw it.
type Seen struct {
	Method        string            `json:"method"`
	Path          string            `json:"path"`
	EscapedPath   string            `json:"escaped_path"`
	RequestURI    string            `json:"request_uri"`
	RawQuery      string            `json:"raw_query"`
	Query         url.Values        `json:"query"`
	Headers       map[string]string `json:"headers"` // repeated values joined with ","
	Cookies       map[string]string `json:"cookies"`
	Body          string            `json:"body"` // base64
	ContentLength int64             `json:"content_length"`
	RemoteIP      string            `json:"remote_ip"`
	Host          string            `json:"host"`
	RequestID     string            `json:"request_id"`
}

func main() {
	f := platform.Function{Handler: routes(), Job: job(os.Getenv("ECHOFN_JOB_FILE"))}
	switch os.Getenv("ECHOFN_KIND") {
	case "http":
		f.Job = nil
	case "job":
		f.Handler = nil
	}
	platform.Run(f)
}

func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo/", echo)
	mux.HandleFunc("GET /png", servePNG)
	mux.HandleFunc("GET /cookies", setCookies)
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("echofn: asked to panic") })
	return mux
}

func echo(w http.ResponseWriter, r *http.Request) {
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	s := Seen{
		Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RequestURI: r.RequestURI,
		RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
		Headers: map[string]string{}, Cookies: map[string]string{},
		Body: base64.StdEncoding.EncodeToString(body.Bytes()), ContentLength: r.ContentLength,
		Host: r.Host, RequestID: requestid.From(r.Context()),
	}
	for k, vs := range r.Header {
		s.Headers[k] = strings.Join(vs, ",")
	}
	for _, c := range r.Cookies() {
		s.Cookies[c.Name] = c.Value
	}
	s.RemoteIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

// PNG is the image /png serves: 2×2 pixels, red, green, blue, white.
func PNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	img.Set(1, 0, color.RGBA{0, 255, 0, 255})
	img.Set(0, 1, color.RGBA{0, 0, 255, 255})
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func servePNG(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/png")
	w.Write(PNG())
}

func setCookies(w http.ResponseWriter, _ *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", Path: "/", HttpOnly: true})
	http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark", Path: "/"})
	w.Header().Add("X-Multi", "one")
	w.Header().Add("X-Multi", "two")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("cookies set"))
}

func job(file string) func(context.Context) error {
	return func(ctx context.Context) error {
		if file == "" {
			return fmt.Errorf("echofn: ECHOFN_JOB_FILE is not set")
		}
		f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "ran %s\n", requestid.From(ctx))
		return err
	}
}
