package awslambda

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
)

// Handler serves Lambda events with an http.Handler and a job. It implements
// lambda.Handler: the payload is the raw event, the result the raw response.
type Handler struct {
	HTTP http.Handler                // nil for a timer-only function
	Job  func(context.Context) error // nil for a function without a timer
}

var _ lambda.Handler = (*Handler)(nil)

// Start serves events from the Runtime API named by AWS_LAMBDA_RUNTIME_API.
// It never returns; aws-lambda-go exits the process if the API goes away.
func Start(h *Handler) { lambda.Start(h) }

// event holds every kind of event we accept; which fields are set tells the
// kinds apart, so the payload is parsed once.
type event struct {
	events.APIGatewayV2HTTPRequest
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// jobDone is the answer to a timer event; EventBridge ignores it.
const jobDone = `{"ok":true}`

// Invoke handles one event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var evt event
	if err := json.Unmarshal(payload, &evt); err != nil {
		return nil, fmt.Errorf("%w: %v", bridge.ErrUnknownEvent, err)
	}
	switch {
	case evt.Source == "aws.events" && evt.DetailType == "Scheduled Event":
		if err := bridge.RunJob(ctx, h.Job, invocationID(ctx)); err != nil {
			return nil, err
		}
		return []byte(jobDone), nil
	case evt.RequestContext.HTTP.Method != "":
		return h.serveHTTP(ctx, &evt.APIGatewayV2HTTPRequest)
	}
	return nil, fmt.Errorf("%w: want a function URL / HTTP API (payload 2.0) or EventBridge scheduled event", bridge.ErrUnknownEvent)
}

func (h *Handler) serveHTTP(ctx context.Context, evt *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if h.HTTP == nil {
		return nil, bridge.ErrNoHandler
	}
	r, err := newRequest(ctx, evt)
	if err != nil {
		return nil, err
	}
	rec := bridge.Serve(h.HTTP, r, requestID(ctx, evt), contextID(ctx))
	return json.Marshal(newResponse(rec))
}
