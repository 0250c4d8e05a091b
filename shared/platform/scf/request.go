package scf

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
)

// newRequest turns an API Gateway or function URL event into the request
// net/http would have built (see the package doc for the quirks undone here).
func newRequest(ctx context.Context, evt *event) (*http.Request, error) {
	body := []byte(evt.Body)
	if evt.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(evt.Body); err != nil {
			return nil, fmt.Errorf("%w: body is not base64: %v", bridge.ErrUnknownEvent, err)
		}
	}
	header := make(http.Header, len(evt.Headers))
	for k, v := range evt.Headers {
		header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	query := url.Values{}
	for k, vs := range evt.QueryString {
		if len(vs) == 0 {
			vs = []string{""} // "?flag" arrives as "flag": true
		}
		query[k] = vs
	}
	// The client is what the platform wrote: API Gateway's
	// requestContext.sourceIp, or in a function-URL event (which has no
	// requestContext) the x-scf-remote-addr header. An API Gateway event's
	// headers are the client's own, so none of them is read for it.
	var remote string
	if evt.RequestContext != nil {
		remote = evt.RequestContext.SourceIP
	} else {
		remote = headerIP(header.Get("X-Scf-Remote-Addr"))
	}
	r, err := bridge.NewRequest(ctx, bridge.Incoming{
		Method:   evt.HTTPMethod,
		Path:     evt.Path,
		RawQuery: query.Encode(),
		Header:   header,
		Body:     body,
		RemoteIP: remote,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", bridge.ErrUnknownEvent, err)
	}
	return r, nil
}

// headerIP returns the address in v ("ip", "ip:port" or "[ipv6]:port"), or
// "" if v holds none.
func headerIP(v string) string {
	v = strings.TrimSpace(v)
	if host, _, err := net.SplitHostPort(v); err == nil {
		v = host
	}
	ip, err := netip.ParseAddr(v)
	if err != nil || ip.Zone() != "" {
		return ""
	}
	return ip.Unmap().String()
}
