package awslambda

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
)

// newResponse turns a recorded response into a payload 2.0 response:
// Set-Cookie headers go to Cookies, other multi-valued headers are joined
// with commas, and non-text bodies are base64-encoded.
func newResponse(rec *bridge.Recorder) events.LambdaFunctionURLResponse {
	res := events.LambdaFunctionURLResponse{
		StatusCode: rec.Status(),
		Headers:    make(map[string]string, len(rec.Header())),
		Cookies:    []string{},
	}
	for k, vs := range rec.Header() {
		if k == "Set-Cookie" {
			res.Cookies = append(res.Cookies, vs...)
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
