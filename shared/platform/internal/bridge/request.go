package bridge

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Incoming is an HTTP request as an event describes it, before it becomes an
// *http.Request.
type Incoming struct {
	Method   string
	Path     string // as sent by the client, percent-encoded ("/a%20b"), or decoded if that is all we have
	RawQuery string
	Header   http.Header
	Body     []byte
	Host     string // used when Header has no Host
	RemoteIP string
}

// NewRequest builds the *http.Request net/http's server would have built for
// in: RequestURI, URL.Path and URL.RawPath from the path, Host taken out of the
// header, ContentLength set, RemoteAddr as "ip:port" (port 0: the platform
// does not tell us) so that net.SplitHostPort works on it.
func NewRequest(ctx context.Context, in Incoming) (*http.Request, error) {
	u := requestURL(in.Path)
	u.RawQuery = in.RawQuery
	r, err := http.NewRequestWithContext(ctx, in.Method, "http://placeholder", bytes.NewReader(in.Body))
	if err != nil {
		return nil, err
	}
	r.URL = u
	r.RequestURI = u.RequestURI()
	r.Header = in.Header
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = in.Host
	}
	r.Header.Del("Host")
	r.ContentLength = int64(len(in.Body))
	if len(in.Body) > 0 && r.Header.Get("Content-Length") == "" {
		// API gateways drop Content-Length; net/http would show it.
		r.Header.Set("Content-Length", strconv.Itoa(len(in.Body)))
	}
	if len(in.Body) == 0 {
		r.Body = http.NoBody
	}
	if in.RemoteIP != "" {
		r.RemoteAddr = net.JoinHostPort(in.RemoteIP, "0")
	}
	return r, nil
}

// requestURL parses path as a request target. A path that is not a valid
// escaped path (a gateway that decoded it: spaces, '%' alone, '?') is taken
// as already decoded.
func requestURL(path string) *url.URL {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.ContainsAny(path, "?#") {
		if u, err := url.ParseRequestURI(path); err == nil {
			return u
		}
	}
	return &url.URL{Path: path}
}
