package platform

import "testing"

func TestModeAndAddressFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		mode, addr string
	}{
		{map[string]string{}, "", "127.0.0.1:8080"},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "_LAMBDA_SERVER_PORT": "9000"}, "AWS_LAMBDA_RUNTIME_API", ""},
		{map[string]string{"_LAMBDA_SERVER_PORT": "9000"}, "_LAMBDA_SERVER_PORT", ""},
		{map[string]string{"PORT": "9000"}, "", ":9000"},
		{map[string]string{"PORT": "9000", "MINIFN_ADDR": "0.0.0.0:9000"}, "", "0.0.0.0:9000"},
	} {
		getenv := func(k string) string { return tc.env[k] }
		m, _, ok := modeFor(getenv)
		if ok != (tc.mode != "") || m.env != tc.mode {
			t.Errorf("%v: mode %q, want %q", tc.env, m.env, tc.mode)
		}
		if !ok && listenAddr(getenv) != tc.addr {
			t.Errorf("%v: addr %q, want %q", tc.env, listenAddr(getenv), tc.addr)
		}
	}
}

func TestCutBase(t *testing.T) {
	for _, tc := range []struct {
		path, want string
		ok         bool
	}{
		{"/release", "/", true},
		{"/release/", "/", true},
		{"/release/orders/1", "/orders/1", true},
		{"/releases/orders", "/releases/orders", false},
		{"/orders", "/orders", false},
	} {
		if got, ok := cutBase(tc.path, "/release"); got != tc.want || ok != tc.ok {
			t.Errorf("cutBase(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
