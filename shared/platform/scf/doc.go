// Package scf runs a minifn function as a Tencent Cloud SCF event function
// (Go1 runtime): scf-go-lib serves net/rpc on _LAMBDA_SERVER_PORT and Handler
// turns each event into a call of the function's http.Handler or its job:
//
//   - API Gateway trigger events (integration request) and function URL
//     events become an *http.Request as net/http's server would build it; the
//     answer is an integration response {isBase64Encoded, statusCode,
//     headers, body}.
//   - Timer trigger events ({"Type":"Timer","TriggerName",…}) run the job.
//   - Anything else (garbage, other triggers, an HTTP event for a timer-only
//     function, a timer event for a function without a job) is returned as an
//     error, which scf-go-lib puts in InvokeResponse.Error; the process stays
//     up for the next event.
//
// SCF web functions do not come here: their scf_bootstrap starts the binary
// as a plain HTTP server on 0.0.0.0:9000 (package platform's HTTP mode).
//
// # Quirks
//
// Event formats: https://www.tencentcloud.com/document/product/583/31439
// (all triggers), https://www.tencentcloud.com/document/product/583/12513
// (API Gateway), https://www.tencentcloud.com/document/product/583/69491
// (function URL).
//
//   - The query arrives as a map ("queryString"), its values a string, an
//     array for repeated keys, or true for a key with no value. The original
//     order is lost, so URL.RawQuery is rebuilt sorted by key (a bare key
//     becomes "key="); URL.Query() gives the same values as the client sent.
//   - Headers arrive in a map, one value per name; cookies stay in the
//     Cookie header.
//   - The path is taken as sent (percent-encoded); a path that is not a valid
//     escaped path is taken as already decoded. It may carry a prefix that
//     is not ours: the API's path in its service, or the stage ("/release")
//     when called through the service's default domain. Set MINIFN_BASE_PATH
//     (see package platform) to strip it; requests outside it answer 404.
//   - The client address is requestContext.sourceIp for API Gateway and the
//     x-scf-remote-addr header for function URLs, whose events have no
//     requestContext (https://cloud.tencent.com/document/product/583/96099:
//     "此字段为客户端的请求IP"); RemoteAddr is "ip:0". Headers of an API Gateway event, which the
//     client wrote, never name the client, nor does X-Forwarded-For.
//   - The body is base64 when isBase64Encoded is true, which API Gateway sets
//     when the API has Base64 encoding enabled
//     (https://cloud.tencent.com/document/product/628/51799). Function URL
//     events have no such field and carry text bodies only.
//   - In the response, non-text bodies are base64-encoded with
//     isBase64Encoded true; multi-valued headers are joined with commas except
//     Set-Cookie, which is sent as an array of values, the form Tencent's own
//     adapter for web frameworks (tencent-serverless-http) sends.
//
// The request id is requestContext.requestId (API Gateway's), else the SCF
// invocation id (functioncontext.FromContext(ctx).RequestID). scf-go-lib's
// functioncontext reads the environment in init(); we only read its
// per-invocation context.
package scf
