// Package platform runs one minifn function wherever its binary was started:
// on AWS Lambda (Runtime API), as a Tencent SCF event function (net/rpc), or
// as a plain HTTP server (local runs and SCF web functions). The mode comes
// from the environment, never from the function.
//
// # Modes
//
// Run picks the first of these whose variable is set:
//
//   - AWS_LAMBDA_RUNTIME_API: AWS Lambda, see package awslambda.
//   - _LAMBDA_SERVER_PORT: Tencent SCF event function, see package scf.
//   - neither: an HTTP server on MINIFN_ADDR; else on ":"+PORT (all
//     interfaces, as platforms that set PORT expect); else on 127.0.0.1:8080.
//     An SCF web function's scf_bootstrap sets MINIFN_ADDR=0.0.0.0:9000
//     (https://www.tencentcloud.com/document/product/583/40688). SIGTERM or
//     SIGINT shuts the server down gracefully.
//
// # Client address
//
// r.RemoteAddr is the client's address, which per-IP rate limits count: on
// Lambda and in SCF events the one the platform put in the event (never a
// header the client wrote), in HTTP mode the TCP peer. An SCF web function's
// peer is Tencent's front end, shared by all its users, so its scf_bootstrap
// sets MINIFN_CLIENT_IP=scf-web and HTTP mode then takes the client from the
// headers that front end adds (X-Scf-Remote-Addr, else the right-most
// X-Forwarded-For entry; see clientip.go). Nowhere else are they trusted.
//
// In every mode a request gets a request id (shared/requestid) that is sent
// back in X-Request-Id, and a handler panic is answered with a 500 in the
// contract's JSON error shape without killing the process.
//
// # Base path
//
// MINIFN_BASE_PATH (e.g. "/release", "/api") is stripped from every request
// path in every mode before the handler sees it, and requests outside it
// answer 404. Use it when a gateway puts a prefix of its own in the path: an
// API Gateway stage, or the path an API is mounted on.
//
// # Timer jobs in HTTP mode
//
// Timers cannot reach an HTTP server, so there a function's job runs on
// POST /_minifn/job, which exists only when the server listens on a loopback
// address (local runs, where a developer or the dev tool triggers it). A web
// function on 0.0.0.0 never exposes it.
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
