package awslambda

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
)

// newRequest turns a payload 2.0 event into the request net/http would have
// built (see the package doc for the quirks undone here).
func newRequest(ctx context.Context, evt *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(evt.Body)
	if evt.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(evt.Body); err != nil {
			return nil, fmt.Errorf("%w: body is not base64: %v", bridge.ErrUnknownEvent, err)
		}
	}
	header := make(http.Header, len(evt.Headers)+1)
	for k, v := range evt.Headers {
		header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if len(evt.Cookies) > 0 {
		header.Set("Cookie", strings.Join(evt.Cookies, "; "))
	}
	path := evt.RawPath
	if path == "" {
		path = evt.RequestContext.HTTP.Path
	}
	r, err := bridge.NewRequest(ctx, bridge.Incoming{
		Method:   evt.RequestContext.HTTP.Method,
		Path:     path,
		RawQuery: evt.RawQueryString,
		Header:   header,
		Body:     body,
		Host:     evt.RequestContext.DomainName,
		RemoteIP: evt.RequestContext.HTTP.SourceIP,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", bridge.ErrUnknownEvent, err)
	}
	if p := evt.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}
	return r, nil
}
