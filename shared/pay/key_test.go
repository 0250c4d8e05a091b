package pay_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/pay"
)

// LoadPrivateKey and LoadPublicKey (key.go) run at every Pay function's
// start: a broken or inconsistent key must stop it there, with one line
// that never quotes the key.

// rawPKCS1 is RFC 8017's two-prime RSAPrivateKey, for keys crypto/x509
// would refuse to marshal.
type rawPKCS1 struct {
	Version               int
	N                     *big.Int
	E                     int
	D, P, Q, Dp, Dq, Qinv *big.Int
}

func rawOf(k *rsa.PrivateKey) rawPKCS1 {
	k.Precompute()
	return rawPKCS1{N: k.N, E: k.E, D: k.D, P: k.Primes[0], Q: k.Primes[1],
		Dp: k.Precomputed.Dp, Dq: k.Precomputed.Dq, Qinv: k.Precomputed.Qinv}
}

func (r rawPKCS1) der(t testing.TB) []byte {
	b, err := asn1.Marshal(struct {
		Version               int
		N                     *big.Int
		E                     int
		D, P, Q, Dp, Dq, Qinv *big.Int
	}{r.Version, r.N, r.E, r.D, r.P, r.Q, r.Dp, r.Dq, r.Qinv})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pkcs8Of wraps a PKCS#1 key as PKCS#8 with algorithm oid.
func pkcs8Of(t testing.TB, der []byte, oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, der})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var oidRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

var (
	keysOnce sync.Once
	testKeys []*rsa.PrivateKey // 1024, 2048 and 3072 bits, and the fixture
)

func keys(t testing.TB) []*rsa.PrivateKey {
	keysOnce.Do(func() {
		for _, bits := range []int{1024, 2048, 3072} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			testKeys = append(testKeys, k)
		}
		b, err := os.ReadFile(fixtures + "merchant_private_key.pem")
		if err != nil {
			panic(err)
		}
		blk, _ := pem.Decode(b)
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			panic(err)
		}
		testKeys = append(testKeys, k.(*rsa.PrivateKey))
	})
	return testKeys
}

// TestLoadPrivateKeyRefuses: every broken key fails with one line saying
// what is wrong, without key material; so does crypto/x509.
func TestLoadPrivateKeyRefuses(t *testing.T) {
	k := keys(t)[1]
	other := keys(t)[2]
	one := big.NewInt(1)
	edit := func(f func(r *rawPKCS1)) []byte {
		r := rawOf(k)
		f(&r)
		return r.der(t)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	good := x509.MarshalPKCS1PrivateKey(k)
	for _, c := range []struct {
		name, typ string
		der       []byte
		want      string
	}{
		{"p·q is not n", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.N = other.N }), "not a valid PKCS#1 RSA key"},
		{"other prime", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.P = other.Primes[0] }), "not a valid PKCS#1 RSA key"},
		{"dP", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Dp = new(big.Int).Add(r.Dp, one) }), "not a valid PKCS#1 RSA key"},
		{"dQ", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Dq = new(big.Int).Sub(r.Dq, one) }), "not a valid PKCS#1 RSA key"},
		{"qInv", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Qinv = new(big.Int).Add(r.Qinv, one) }), "not a valid PKCS#1 RSA key"},
		{"qInv out of range", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Qinv = new(big.Int).Add(r.Qinv, r.P) }), "not a valid PKCS#1 RSA key"},
		{"d", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.D = new(big.Int).Add(r.D, big.NewInt(2)) }), "not a valid PKCS#1 RSA key"},
		{"e", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.E = 3 }), "not a valid PKCS#1 RSA key"},
		{"even e", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.E = 65536 }), "not a valid PKCS#1 RSA key"},
		{"truncated", "RSA PRIVATE KEY", good[:len(good)-10], "not a valid PKCS#1 RSA key"},
		{"trailing data", "RSA PRIVATE KEY", append(good[:len(good):len(good)], 0), "not a valid PKCS#1 RSA key"},
		{"EC in PKCS#8", "PRIVATE KEY", ecDER, "not an RSA key"},
		{"PKCS#1 labelled PKCS#8", "PRIVATE KEY", good, "not a valid PKCS#8 RSA key"},
		{"PKCS#8 of a broken key", "PRIVATE KEY", pkcs8Of(t, edit(func(r *rawPKCS1) { r.Dq = one }), oidRSA), "not a valid PKCS#8 RSA key"},
		{"public key", "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&k.PublicKey)), "unexpected PEM block"},
	} {
		text := pemOf(c.typ, c.der)
		_, err := pay.LoadPrivateKey(text)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: LoadPrivateKey = %v, want %q", c.name, err, c.want)
			continue
		}
		if body := strings.Split(text, "\n")[1]; strings.Contains(err.Error(), body) {
			t.Errorf("%s: the error quotes the key", c.name)
		}
	}
}

func TestLoadPublicKeyRefuses(t *testing.T) {
	k := keys(t)[1]
	spki := must(x509.MarshalPKIXPublicKey(&k.PublicKey))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, c := range map[string]struct {
		typ  string
		der  []byte
		want string
	}{
		"EC key":       {"PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey)), "not an RSA key"},
		"truncated":    {"PUBLIC KEY", spki[:len(spki)-1], "not a valid PKIX key"},
		"PKCS#1 as it": {"PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey), "not a valid PKIX key"},
		"private key":  {"PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(k)), "unexpected PEM block"},
	} {
		if _, err := pay.LoadPublicKey(pemOf(c.typ, c.der)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: LoadPublicKey = %v, want %q", name, err, c.want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
