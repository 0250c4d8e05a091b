// Package platform runs one minifn function wherever its binary was started:
// on AWS Lambda (Runtime API), as a Tencent SCF event function (net/rpc), or
// as a plain HTTP server (local runs and SCF web functions). The mode comes
// from the environment, never from the function.
package platform

import (
	"context"
	"net/http"
)

// Function is what a binary runs: an HTTP handler, a timer job, or both.
type Function struct {
	// Handler serves the function's routes; nil for a timer-only function.
	Handler http.Handler
	// Job runs on a timer event (EventBridge schedule, SCF timer); nil if none.
	Job func(ctx context.Context) error
}
