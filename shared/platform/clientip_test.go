package platform_test

import (
	"net/http"
	"testing"
)

// forged is what a client can write itself: neither header may decide its
// address where the client reaches the function without a trusted gateway.
var forged = http.Header{
	"X-Forwarded-For":   {"6.6.6.6"},
	"X-Real-Ip":         {"6.6.6.7"},
	"X-Scf-Remote-Addr": {"6.6.6.8"},
}

// TestClientIPIgnoresForgedHeaders: on Lambda and in SCF events the address
// is the one the platform put in the event; in local HTTP mode it is the TCP
// peer. Headers a client wrote change nothing.
func TestClientIPIgnoresForgedHeaders(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			a, err := m.start(t, nil).do(call{method: "GET", target: "/echo/ip", header: forged})
			if err != nil {
				t.Fatal(err)
			}
			echoed(t, m, a) // checks the address against m.remoteIP
		})
	}
}

// TestSCFWebClientIP: an SCF web function (MINIFN_CLIENT_IP=scf-web, which
// scf_bootstrap sets) sits behind the API gateway or the function-URL front
// end, so its TCP peer is the platform, never the client. The client is
// X-Scf-Remote-Addr, which the platform sets and no client can, else the
// right-most X-Forwarded-For entry, the one the gateway appended; entries
// to its left are the client's own writing.
func TestSCFWebClientIP(t *testing.T) {
	web := mode{"scf-web", "", "", func(t *testing.T, env []string) *fn {
		return startHTTP(t, append(env, "MINIFN_CLIENT_IP=scf-web"))
	}}
	f := web.start(t, nil)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"gateway appended", http.Header{"X-Forwarded-For": {"198.51.100.20"}}, "198.51.100.20"},
		{"forged entries left of the gateway's", http.Header{"X-Forwarded-For": {"6.6.6.6, 10.0.0.1,198.51.100.21"}}, "198.51.100.21"},
		{"repeated header", http.Header{"X-Forwarded-For": {"6.6.6.6", "198.51.100.22"}}, "198.51.100.22"},
		{"IPv6", http.Header{"X-Forwarded-For": {"6.6.6.6, 2001:db8::1"}}, "2001:db8::1"},
		{"function URL", http.Header{"X-Scf-Remote-Addr": {"111.206.96.145"}, "X-Forwarded-For": {"6.6.6.6"}}, "111.206.96.145"},
		{"function URL with a port", http.Header{"X-Scf-Remote-Addr": {"[2001:db8::2]:4711"}}, "2001:db8::2"},
		{"X-Real-IP is not used", http.Header{"X-Real-Ip": {"6.6.6.7"}, "X-Forwarded-For": {"198.51.100.23"}}, "198.51.100.23"},
		{"garbage right-most entry", http.Header{"X-Forwarded-For": {"198.51.100.24, not-an-ip"}}, "127.0.0.1"},
		{"no header: the TCP peer", nil, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := f.do(call{method: "GET", target: "/echo/ip", header: tc.header})
			if err != nil {
				t.Fatal(err)
			}
			m := web
			m.remoteIP = tc.want
			echoed(t, m, a)
		})
	}
}
