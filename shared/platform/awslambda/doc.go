// Package awslambda runs a minifn function on AWS Lambda through the Runtime
// API (aws-lambda-go, built with -tags lambda.norpc for the provided.al2023
// runtime). Handler turns each event into a call of the function's
// http.Handler or of its timer job:
//
//   - Function URL and API Gateway HTTP API events (payload format 2.0) become
//     an *http.Request as net/http's server would build it, and the response
//     goes back as a payload 2.0 response.
//   - EventBridge scheduled events ("source":"aws.events",
//     "detail-type":"Scheduled Event") run the job.
//   - Anything else (garbage, other event sources, an HTTP event for a
//     timer-only function, a timer event for a function without a job) is
//     returned as an error, which aws-lambda-go posts to the Runtime API's
//     /error endpoint; the process stays up for the next event.
//
// # Quirks of payload format 2.0
//
// See https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
// and https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html.
//
//   - Request headers arrive lower-cased in a map; a header sent several
//     times arrives once, its values joined with commas. We pass the joined
//     value on (RFC 9110 §5.3 makes the two forms equivalent, except for
//     Set-Cookie, which a request never carries).
//   - Cookies are taken out of the headers into a separate "cookies" array;
//     we put them back as one Cookie header joined with "; ".
//   - rawPath is the path as the client sent it (percent-encoded), so
//     URL.Path and URL.RawPath come out as net/http would set them. With an
//     API Gateway stage other than $default, rawPath starts with the stage
//     name: set MINIFN_BASE_PATH (see package platform) to strip it.
//   - The body is base64 when isBase64Encoded is true (binary uploads).
//   - The client address is requestContext.http.sourceIp; RemoteAddr is
//     "ip:0" since no port is given.
//   - In the response, multi-valued headers are joined with commas, and
//     Set-Cookie headers go to the "cookies" array (a map cannot hold two).
//     Bodies whose Content-Type is not text (image/png, octet streams) are
//     base64-encoded with isBase64Encoded true.
//
// The request id put in the context (shared/requestid) and sent back in
// X-Request-Id is requestContext.requestId, the id API Gateway and function
// URLs log; the Lambda invocation id (lambdacontext.FromContext(ctx).AwsRequestID)
// is used when the event has none. Scheduled event format:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
// (with EventBridge Scheduler, give the target this shape as its input). Runtime
// API: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.
package awslambda
