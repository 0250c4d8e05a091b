package platform

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/minifn/minifn/shared/accesslog"
)

// Where HTTP mode takes the client's address from (MINIFN_CLIENT_IP).
//
// The address is what per-IP rate limits count (shared/ratelimit.SourceIP
// reads r.RemoteAddr), so it must be one no client can choose. The Lambda
// and SCF event adapters take it from the event, which the platform writes.
// In HTTP mode the TCP peer is the client itself in a local run or under
// `minifn dev`, but in an SCF web function it is Tencent's front end (the
// API gateway or the function-URL endpoint), shared by every user: there
// the client is in headers the platform adds, and only there are they
// trusted.
const (
	// clientIPPeer: the TCP peer. The default; no header is trusted.
	clientIPPeer = "peer"
	// clientIPSCFWeb: an SCF web function, which scf_bootstrap marks by
	// setting MINIFN_CLIENT_IP=scf-web (see scfWebClientIP).
	clientIPSCFWeb = "scf-web"
)

// clientIPFrom reads MINIFN_CLIENT_IP.
func clientIPFrom(getenv func(string) string) (string, error) {
	switch v := getenv("MINIFN_CLIENT_IP"); v {
	case "", clientIPPeer:
		return clientIPPeer, nil
	case clientIPSCFWeb:
		return v, nil
	default:
		return "", fmt.Errorf("MINIFN_CLIENT_IP %q: want %s or %s", v, clientIPPeer, clientIPSCFWeb)
	}
}

// withSCFWebClientIP sets r.RemoteAddr to "ip:0", ip being the client the
// SCF platform names in the request's headers (scfWebClientIP), as the event
// adapters do. Without such a header RemoteAddr stays the TCP peer. It also
// puts SCF's X-Scf-Request-Id on the access line, as invocation_id.
func withSCFWebClientIP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := scfWebClientIP(r.Header); ok {
			r = r.WithContext(r.Context()) // a shallow copy: the caller's request stays as it was
			r.RemoteAddr = netip.AddrPortFrom(ip, 0).String()
		}
		// SCF's id of the invocation, which CLS shows as SCF_RequestId on
		// the platform's own lines: the access line carries it too. Like
		// X-Scf-Remote-Addr, only the platform can set it (see below).
		if id := r.Header.Get("X-Scf-Request-Id"); saneID(id) {
			accesslog.SetInvocation(r.Context(), id)
		}
		h.ServeHTTP(w, r)
	})
}

// scfWebClientIP returns the client address of a request that reached an SCF
// web function through Tencent's front end:
//
//   - X-Scf-Remote-Addr, if it holds an address. Function URLs put the
//     client's IP there (https://cloud.tencent.com/document/product/583/96099),
//     and no client can send an X-SCF-… header to a web function: the
//     platform fills those in
//     (https://cloud.tencent.com/document/product/583/56124,
//     https://www.tencentcloud.com/document/product/583/40678).
//   - Else the right-most X-Forwarded-For entry: the API gateway passes the
//     client's request through and appends the address it saw
//     (https://cloud.tencent.com/document/product/628/50421). Everything to
//     its left came from the client and proves nothing. If that entry is not
//     an address, nothing is returned, never an entry further left.
//
// X-Real-IP is not used: Tencent's English and Chinese pages of that last
// document say opposite things about what it holds.
func scfWebClientIP(h http.Header) (netip.Addr, bool) {
	if vs := h.Values("X-Scf-Remote-Addr"); len(vs) > 0 {
		if ip, ok := parseIP(vs[len(vs)-1]); ok {
			return ip, true
		}
	}
	xff := strings.Join(h.Values("X-Forwarded-For"), ",")
	if xff == "" {
		return netip.Addr{}, false
	}
	entries := strings.Split(xff, ",")
	return parseIP(entries[len(entries)-1])
}

// parseIP accepts "ip", "ip:port" and "[ipv6]:port".
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}
