package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPayStartErrors: a WeChat Pay function given a key that is PEM but
// not a usable key stops at start, exit status 1, with one line naming the
// variable and never quoting the key. The key check at start is cheap
// (shared/pay/key.go) but still complete: an inconsistent key fails there,
// not at the first payment.
func TestPayStartErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function binary")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	exe := buildLambda(t, root, "./functions/order-create", filepath.Join(t.TempDir(), "order-create"), "")
	base := coldStartEnv(t)

	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k.Precompute()
	// The key with dQ off by one: PEM, PKCS#8 and ASN.1 are all well formed.
	inconsistent, _ := asn1.Marshal(struct {
		Version               int
		N                     *big.Int
		E                     int
		D, P, Q, Dp, Dq, Qinv *big.Int
	}{0, k.N, k.E, k.D, k.Primes[0], k.Primes[1], k.Precomputed.Dp, new(big.Int).Add(k.Precomputed.Dq, big.NewInt(1)), k.Precomputed.Qinv})
	good, _ := x509.MarshalPKCS8PrivateKey(k)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	text := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}

	for _, c := range []struct {
		name, variable, value, want string
	}{
		{"truncated key", "MINIFN_PAY_PRIVATE_KEY", text("PRIVATE KEY", good[:len(good)-40]), "MINIFN_PAY_PRIVATE_KEY: private key: not a valid PKCS#8 key"},
		{"inconsistent key", "MINIFN_PAY_PRIVATE_KEY", text("RSA PRIVATE KEY", inconsistent), "MINIFN_PAY_PRIVATE_KEY: private key: inconsistent RSA key (invalid CRT exponent)"},
		{"EC key", "MINIFN_PAY_PRIVATE_KEY", text("PRIVATE KEY", ecDER), "MINIFN_PAY_PRIVATE_KEY: private key: not an RSA key"},
		{"public key as private", "MINIFN_PAY_PRIVATE_KEY", text("PUBLIC KEY", spki), `MINIFN_PAY_PRIVATE_KEY: private key: unexpected PEM block "PUBLIC KEY"`},
		{"truncated public key", "MINIFN_PAY_PUBLIC_KEY", text("PUBLIC KEY", spki[:len(spki)-3]), "MINIFN_PAY_PUBLIC_KEY: public key: not a valid PKIX key"},
	} {
		env := append([]string{}, base...)
		for i, kv := range env {
			if strings.HasPrefix(kv, c.variable+"=") {
				env[i] = c.variable + "=" + c.value
			}
		}
		cmd := exec.Command(exe)
		cmd.Env = append(env, "PATH="+os.Getenv("PATH"), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9")
		out, err := cmd.CombinedOutput()
		line := string(out)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: %v, output %q; want exit status 1", c.name, err, line)
			continue
		}
		if line != "minifn: "+c.want+"\n" {
			t.Errorf("%s: output %q, want %q", c.name, line, "minifn: "+c.want+"\n")
		}
		if body := strings.Split(c.value, "\n")[1]; strings.Contains(line, body[:20]) {
			t.Errorf("%s: the error quotes the key", c.name)
		}
	}
}
