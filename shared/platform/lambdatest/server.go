// Package lambdatest is a fake AWS Lambda Runtime API for tests and
// benchmarks: it hands events to a real function binary polling it, exactly
// as Lambda does, and collects the answers. It is written from the public
// spec, https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html:
//
//   - GET  /2018-06-01/runtime/invocation/next blocks until there is an
//     event, then answers it with the Lambda-Runtime-Aws-Request-Id,
//     Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn and
//     Lambda-Runtime-Trace-Id headers;
//   - POST /2018-06-01/runtime/invocation/{id}/response and …/{id}/error
//     complete an invocation (202; 400 for an unknown id; 413 over 6 MB);
//   - POST /2018-06-01/runtime/init/error records a failed start.
//
// It listens on 127.0.0.1:0. Start runs a binary against a fresh server;
// ColdStart times a binary from exec to its first answer.
package lambdatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	prefix       = "/2018-06-01/runtime"
	maxResponse  = 6 << 20 // Lambda's limit for a synchronous response
	functionARN  = "arn:aws:lambda:us-east-1:123456789012:function:minifn-test"
	defaultLimit = 60 * time.Second // invocation deadline when ctx has none
)

// ErrInit is returned by Invoke after the runtime reported an init error.
var ErrInit = errors.New("lambdatest: the runtime reported an init error")

// Server is a fake Runtime API.
type Server struct {
	ln     net.Listener
	srv    *http.Server
	queue  chan *invocation
	closed chan struct{}

	mu        sync.Mutex
	seq       int
	pending   map[string]*invocation
	initErr   []byte
	initFails chan struct{} // closed on the first init error
	firstPoll time.Time     // when the function first asked for an event
	closeOnce sync.Once
}

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
	done     chan answer // buffered, receives exactly one answer
}

type answer struct{ response, errPayload []byte }

// NewServer starts a fake Runtime API on 127.0.0.1:0.
func NewServer() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		ln:        ln,
		queue:     make(chan *invocation),
		closed:    make(chan struct{}),
		pending:   map[string]*invocation{},
		initFails: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/invocation/next", s.next)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/response", s.complete(false))
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/error", s.complete(true))
	mux.HandleFunc("POST "+prefix+"/init/error", s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server; pollers get their connections closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return s.srv.Close()
}

// InitError is the body the runtime posted to /init/error, if any.
func (s *Server) InitError() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

// Invoke hands event to the next poll of /invocation/next and waits for the
// runtime's answer: response is the body posted to /response, errPayload the
// body posted to /error (exactly one is non-nil). err is set if ctx ends, the
// server closes or the runtime reported an init error first.
func (s *Server) Invoke(ctx context.Context, event []byte) (response, errPayload []byte, err error) {
	inv := s.register(ctx, event)
	defer s.forget(inv.id)
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-s.closed:
		return nil, nil, errors.New("lambdatest: server closed")
	case <-s.initFails:
		return nil, nil, fmt.Errorf("%w: %s", ErrInit, s.InitError())
	}
	select {
	case a := <-inv.done:
		return a.response, a.errPayload, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-s.closed:
		return nil, nil, errors.New("lambdatest: server closed")
	}
}

func (s *Server) register(ctx context.Context, event []byte) *invocation {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultLimit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	inv := &invocation{
		id:       fmt.Sprintf("8476a536-e9f4-11e8-9739-%012d", s.seq),
		event:    event,
		deadline: deadline,
		done:     make(chan answer, 1),
	}
	s.pending[inv.id] = inv
	return inv
}

func (s *Server) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, id)
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.firstPoll.IsZero() {
		s.firstPoll = time.Now()
	}
	s.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closed:
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", functionARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
	w.Write(inv.event)
}

// FirstPoll is when the function first asked for an event (GET
// /invocation/next): the end of its start-up. Zero until then.
func (s *Server) FirstPoll() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstPoll
}

func (s *Server) complete(failed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
		if err != nil {
			http.Error(w, `{"errorMessage":"cannot read body","errorType":"InvalidRequest"}`, http.StatusBadRequest)
			return
		}
		if len(body) > maxResponse {
			http.Error(w, `{"errorMessage":"payload too large","errorType":"RequestEntityTooLarge"}`, http.StatusRequestEntityTooLarge)
			return
		}
		s.mu.Lock()
		inv, ok := s.pending[r.PathValue("id")]
		delete(s.pending, r.PathValue("id"))
		s.mu.Unlock()
		if !ok {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		if failed {
			inv.done <- answer{errPayload: body}
		} else {
			inv.done <- answer{response: body}
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"OK"}`)
	}
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponse))
	s.mu.Lock()
	if s.initErr == nil {
		s.initErr = body
		close(s.initFails)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}
