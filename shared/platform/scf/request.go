package scf

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

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
	remote := header.Get("X-Scf-Remote-Addr")
	if evt.RequestContext != nil && evt.RequestContext.SourceIP != "" {
		remote = evt.RequestContext.SourceIP
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
