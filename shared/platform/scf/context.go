package scf

import (
	"context"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/minifn/minifn/shared/requestid"
)

// requestID picks the id a request is known by: API Gateway's, else the SCF
// invocation id.
func requestID(ctx context.Context, evt *event) string {
	if evt.RequestContext != nil && evt.RequestContext.RequestID != "" {
		return evt.RequestContext.RequestID
	}
	return invocationID(ctx)
}

// invocationID is the SCF invocation id, or a fresh id when the event is
// run in-process (minifn invoke) with no SCF context.
func invocationID(ctx context.Context) string {
	if id := contextID(ctx); id != "" {
		return id
	}
	return requestid.New()
}

// contextID is the SCF invocation id of ctx, or "" outside SCF. The
// access line carries it (as invocation_id) when the request is known by
// API Gateway's id, so that the platform's own lines about the invocation
// can be found from it.
func contextID(ctx context.Context) string {
	if fc, ok := functioncontext.FromContext(ctx); ok {
		return fc.RequestID
	}
	return ""
}
