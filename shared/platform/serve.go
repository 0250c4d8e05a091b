package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server timeouts. ReadHeaderTimeout bounds slow-loris clients; the others
// leave room for a handler that calls WeChat or WeChat Pay (a few seconds).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 10 * time.Second
)

// ListenAndServe serves h on addr until ctx is done, then shuts down
// gracefully. See Serve.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("MINIFN_ADDR: %w", err)
	}
	return Serve(ctx, ln, h)
}

// Serve serves h on ln until ctx is done, then stops accepting and waits up
// to 10s for requests in flight. Each request gets a request id (the
// caller's X-Request-Id if it is a sane token, else a fresh one) in its
// context and in the X-Request-Id response header, and a panic is answered
// with a 500 in the contract's shape. It logs the address it serves on.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           withRequestID(h),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	slog.Info("minifn listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

// serveFunction is the HTTP mode of Run: f on ln, with the client address
// taken as clientIP says (clientIPFrom).
func serveFunction(ctx context.Context, f Function, ln net.Listener, clientIP string) error {
	h := functionHandler(f, isLoopback(ln.Addr()))
	if clientIP == clientIPSCFWeb {
		h = withSCFWebClientIP(h)
	}
	return Serve(ctx, ln, h)
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
