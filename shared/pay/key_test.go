package pay_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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

// LoadPrivateKey and LoadPublicKey read DER by hand and check the private
// key with math/big (key.go). These tests hold them to crypto/x509 and
// crypto/rsa: the same keys, the same values, and nothing accepted that
// crypto/rsa would refuse when signing.

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

func TestLoadKeysAgreeWithX509(t *testing.T) {
	for _, k := range keys(t) {
		p8, _ := x509.MarshalPKCS8PrivateKey(k)
		pkix, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		for _, text := range []string{pemOf("PRIVATE KEY", p8), pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))} {
			got, err := pay.LoadPrivateKey(text)
			if err != nil {
				t.Fatalf("%d bits: %v", k.N.BitLen(), err)
			}
			if !got.Equal(k) || got.Precomputed.Dp.Cmp(k.Precomputed.Dp) != 0 || got.Precomputed.Qinv.Cmp(k.Precomputed.Qinv) != 0 {
				t.Fatalf("%d bits: LoadPrivateKey differs from crypto/x509", k.N.BitLen())
			}
			// Not precomputed at start; crypto/rsa's own check passes, and it signs.
			got.Precompute()
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte("minifn"))
			sig, err := rsa.SignPKCS1v15(rand.Reader, got, crypto.SHA256, sum[:])
			if err != nil || rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig) != nil {
				t.Fatalf("signing with the loaded key: %v", err)
			}
		}
		for _, text := range []string{pemOf("PUBLIC KEY", pkix), pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey))} {
			got, err := pay.LoadPublicKey(text)
			if err != nil || !got.Equal(&k.PublicKey) {
				t.Fatalf("%d bits: LoadPublicKey = %v", k.N.BitLen(), err)
			}
		}
	}
	// PKCS#8 without the NULL parameters, which crypto/x509 accepts too.
	k := keys(t)[1]
	noParams, _ := asn1.Marshal(struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: oidRSA}, x509.MarshalPKCS1PrivateKey(k)})
	if _, err := x509.ParsePKCS8PrivateKey(noParams); err != nil {
		t.Fatal(err)
	}
	if got, err := pay.LoadPrivateKey(pemOf("PRIVATE KEY", noParams)); err != nil || !got.Equal(k) {
		t.Fatalf("PKCS#8 without parameters: %v", err)
	}
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
		{"p·q is not n", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.N = other.N }), "p·q is not n"},
		{"other prime", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.P = other.Primes[0] }), "p·q is not n"},
		{"dP", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Dp = new(big.Int).Add(r.Dp, one) }), "CRT exponent"},
		{"dQ", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Dq = new(big.Int).Sub(r.Dq, one) }), "CRT exponent"},
		{"qInv", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Qinv = new(big.Int).Add(r.Qinv, one) }), "CRT coefficient"},
		{"qInv out of range", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Qinv = new(big.Int).Add(r.Qinv, r.P) }), "out of range"},
		{"d", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.D = new(big.Int).Add(r.D, big.NewInt(2)) }), "d does not match"},
		{"e", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.E = 3 }), "CRT exponent"},
		{"even e", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.E = 65536 }), "even"},
		{"multi-prime", "RSA PRIVATE KEY", edit(func(r *rawPKCS1) { r.Version = 1 }), "two-prime"},
		{"truncated", "RSA PRIVATE KEY", good[:len(good)-10], "not a valid RSA key"},
		{"trailing data", "RSA PRIVATE KEY", append(good[:len(good):len(good)], 0), "not a valid RSA key"},
		{"EC in PKCS#8", "PRIVATE KEY", ecDER, "not an RSA key"},
		{"PKCS#1 labelled PKCS#8", "PRIVATE KEY", good, "not a valid PKCS#8 key"},
		{"PKCS#8 of a broken key", "PRIVATE KEY", pkcs8Of(t, edit(func(r *rawPKCS1) { r.Dq = one }), oidRSA), "CRT exponent"},
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
		// crypto/x509 refuses them too.
		if _, xerr := x509.ParsePKCS8PrivateKey(c.der); xerr == nil && c.typ == "PRIVATE KEY" && c.want != "not an RSA key" {
			t.Errorf("%s: crypto/x509 accepts it", c.name)
		}
		if _, xerr := x509.ParsePKCS1PrivateKey(c.der); xerr == nil && c.typ == "RSA PRIVATE KEY" && c.want != "two-prime" {
			t.Errorf("%s: crypto/x509 accepts it", c.name)
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
		"even modulus": {"RSA PUBLIC KEY", must(asn1.Marshal(struct {
			N *big.Int
			E int
		}{new(big.Int).Lsh(k.N, 1), 65537})), "not a valid key"},
		"private key": {"PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(k)), "unexpected PEM block"},
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

// FuzzLoadPrivateKey: whatever LoadPrivateKey accepts, crypto/x509 parses
// to the same key and crypto/rsa signs with; whatever two-prime key of at
// least 1024 bits crypto/x509 accepts, LoadPrivateKey accepts. Run with
//
//	go test ./shared/pay -run '^$' -fuzz FuzzLoadPrivateKey -fuzztime 30s
func FuzzLoadPrivateKey(f *testing.F) {
	for _, k := range keys(f) {
		f.Add(x509.MarshalPKCS1PrivateKey(k), false)
		f.Add(must(x509.MarshalPKCS8PrivateKey(k)), true)
	}
	f.Fuzz(func(t *testing.T, der []byte, pkcs8 bool) {
		typ, parse := "RSA PRIVATE KEY", func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) }
		if pkcs8 {
			typ, parse = "PRIVATE KEY", x509.ParsePKCS8PrivateKey
		}
		got, err := pay.LoadPrivateKey(pemOf(typ, der))
		x, xerr := parse(der)
		xk, _ := x.(*rsa.PrivateKey)
		if err == nil {
			if xk == nil || !got.Equal(xk) {
				t.Fatalf("accepted a key crypto/x509 refuses or reads otherwise: %v", xerr)
			}
			got.Precompute()
			if err := got.Validate(); err != nil {
				t.Fatalf("accepted a key crypto/rsa refuses: %v", err)
			}
			return
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of two lines: %q", err)
		}
		if xk != nil && len(xk.Primes) == 2 && xk.N.BitLen() >= 1024 {
			t.Fatalf("refused a key crypto/x509 accepts: %v", err)
		}
	})
}

// FuzzLoadPublicKey: whatever LoadPublicKey accepts, crypto/x509 parses to
// the same key.
func FuzzLoadPublicKey(f *testing.F) {
	for _, k := range keys(f) {
		f.Add(x509.MarshalPKCS1PublicKey(&k.PublicKey), false)
		f.Add(must(x509.MarshalPKIXPublicKey(&k.PublicKey)), true)
	}
	f.Fuzz(func(t *testing.T, der []byte, pkix bool) {
		typ, parse := "RSA PUBLIC KEY", func(b []byte) (any, error) { return x509.ParsePKCS1PublicKey(b) }
		if pkix {
			typ, parse = "PUBLIC KEY", x509.ParsePKIXPublicKey
		}
		got, err := pay.LoadPublicKey(pemOf(typ, der))
		if err != nil {
			return
		}
		x, xerr := parse(der)
		if xk, _ := x.(*rsa.PublicKey); xk == nil || !got.Equal(xk) {
			t.Fatalf("accepted a key crypto/x509 refuses or reads otherwise: %v", xerr)
		}
	})
}
