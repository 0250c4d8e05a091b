package awslambda

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/minifn/minifn/shared/requestid"
)

// requestID picks the id a request is known by: the one API Gateway or the
// function URL logged, else the Lambda invocation id.
func requestID(ctx context.Context, evt *events.APIGatewayV2HTTPRequest) string {
	if evt.RequestContext.RequestID != "" {
		return evt.RequestContext.RequestID
	}
	return invocationID(ctx)
}

// invocationID is the Lambda invocation id, or a fresh id when the event is
// run in-process (minifn invoke) with no Lambda context.
func invocationID(ctx context.Context) string {
	if id := contextID(ctx); id != "" {
		return id
	}
	return requestid.New()
}

// contextID is the Lambda invocation id of ctx, or "" outside Lambda. The
// access line carries it (as invocation_id) when the request is known by
// API Gateway's id, so that the platform's own lines about the invocation
// can be found from it.
func contextID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
