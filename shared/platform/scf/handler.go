package scf

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/events"

	"github.com/minifn/minifn/shared/platform/internal/bridge"
)

// Handler serves SCF events with an http.Handler and a job. It implements
// cloudfunction.Handler: the payload is the raw event, the result the raw
// response.
type Handler struct {
	HTTP http.Handler                // nil for a timer-only function
	Job  func(context.Context) error // nil for a function without a timer
}

var _ cloudfunction.Handler = (*Handler)(nil)

// Start serves net/rpc on _LAMBDA_SERVER_PORT. It never returns; scf-go-lib
// exits the process if it cannot listen.
func Start(h *Handler) { cloudfunction.StartHandler(h) }

// event holds every kind of event we accept; which fields are set tells the
// kinds apart, so the payload is parsed once.
type event struct {
	// API Gateway and function URL.
	HTTPMethod      string                           `json:"httpMethod"`
	Path            string                           `json:"path"`
	QueryString     events.APIGatewayQueryString     `json:"queryString"`
	Headers         map[string]string                `json:"headers"`
	Body            string                           `json:"body"`
	IsBase64Encoded bool                             `json:"isBase64Encoded"`
	RequestContext  *events.APIGatewayRequestContext `json:"requestContext"` // API Gateway only
	// Timer.
	Type        string `json:"Type"`
	TriggerName string `json:"TriggerName"`
}

// jobDone is the answer to a timer event; SCF only logs it.
const jobDone = `{"ok":true}`

// Invoke handles one event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var evt event
	if err := json.Unmarshal(payload, &evt); err != nil {
		return nil, fmt.Errorf("%w: %v", bridge.ErrUnknownEvent, err)
	}
	switch {
	case evt.Type == "Timer":
		if err := bridge.RunJob(ctx, h.Job, invocationID(ctx)); err != nil {
			return nil, err
		}
		return []byte(jobDone), nil
	case evt.HTTPMethod != "":
		return h.serveHTTP(ctx, &evt)
	}
	return nil, fmt.Errorf("%w: want an API Gateway, function URL or timer event", bridge.ErrUnknownEvent)
}

func (h *Handler) serveHTTP(ctx context.Context, evt *event) ([]byte, error) {
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
