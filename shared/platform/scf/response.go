package scf

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
)

// response is API Gateway's integration response, which function URLs accept
// too. scf-go-lib's events.APIGatewayResponse cannot hold several Set-Cookie
// values (its headers are map[string]string), hence our own type.
type response struct {
	IsBase64Encoded bool           `json:"isBase64Encoded"`
	StatusCode      int            `json:"statusCode"`
	Headers         map[string]any `json:"headers"` // string, or []string for Set-Cookie
	Body            string         `json:"body"`
}

func newResponse(rec *bridge.Recorder) response {
	res := response{StatusCode: rec.Status(), Headers: make(map[string]any, len(rec.Header()))}
	for k, vs := range rec.Header() {
		if k == "Set-Cookie" && len(vs) > 1 {
			res.Headers[k] = vs
			continue
		}
		res.Headers[k] = strings.Join(vs, ",")
	}
	body := rec.Body()
	if bridge.IsText(rec.Header().Get("Content-Type")) && utf8.Valid(body) {
		res.Body = string(body)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(body)
		res.IsBase64Encoded = true
	}
	return res
}
