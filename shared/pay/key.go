package pay

import (
	"bytes"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strings"
)

// Keys are read at start, so that a bad MINIFN_PAY_PRIVATE_KEY or
// MINIFN_PAY_PUBLIC_KEY fails the function there, with one line naming the
// variable, rather than its first payment. That check used to be
// crypto/x509's parsers, which cost about 1 ms of a 20 ms cold start
// (BENCHMARKS.md, "Cold start of the WeChat Pay functions"): encoding/asn1
// fills its structs by reflection, and ParsePKCS1PrivateKey precomputes and
// validates the key with crypto/rsa's constant-time arithmetic, which only a
// signature needs. So the DER is read here by hand (the few fixed shapes
// below, strict DER), and the private key is checked for consistency with
// math/big: the conditions crypto/rsa's precomputation enforces (p·q = n,
// e·dP ≡ 1 mod p−1, e·dQ ≡ 1 mod q−1, qInv·q ≡ 1 mod p, d ≡ dP and dQ,
// |p−q| and d not too small, n of at least 1024 bits), so that a key that
// passes here also passes there. Client precomputes the key on its first
// signature (Client.merchantKey), where crypto/rsa checks it once more.
//
// math/big is not constant-time: these checks run once per process, on the
// configured key, at a moment no request can choose or observe apart from
// the start's total duration.
//
// Formats: RFC 5208 (PKCS#8, which WeChat Pay's apiclient_key.pem is), RFC
// 8017 appendix A.1 (PKCS#1), RFC 5280 §4.1 (SubjectPublicKeyInfo, the
// WeChat Pay public key pub_key.pem), X.690 §10 (DER).

// LoadPrivateKey parses an RSA private key (PKCS#8 "PRIVATE KEY", as WeChat
// Pay issues it, or PKCS#1) given as PEM text or as the path of a PEM file,
// since MINIFN_PAY_PRIVATE_KEY accepts either. Literal "\n" sequences, as
// some consoles store multi-line env vars, are read as newlines. The key is
// checked but not precomputed (see above): use it through New, or call its
// Precompute before sharing it between goroutines.
func LoadPrivateKey(s string) (*rsa.PrivateKey, error) {
	block, err := pemBlock(s)
	if err != nil {
		return nil, err
	}
	var der []byte
	switch block.Type {
	case "PRIVATE KEY":
		var rsaKey bool
		if der, rsaKey, err = unwrapPKCS8(block.Bytes); err != nil {
			return nil, errors.New("pay: private key: not a valid PKCS#8 key")
		}
		if !rsaKey {
			return nil, errors.New("pay: private key: not an RSA key")
		}
	case "RSA PRIVATE KEY":
		der = block.Bytes
	default:
		return nil, fmt.Errorf("pay: private key: unexpected PEM block %q", block.Type)
	}
	k, err := parsePKCS1Private(der)
	if err != nil {
		return nil, fmt.Errorf("pay: private key: %w", err)
	}
	return k, nil
}

// LoadPublicKey parses the WeChat Pay public key ("PUBLIC KEY", PKIX, as
// downloaded from the merchant platform, or PKCS#1) given as PEM text or as
// the path of a PEM file.
func LoadPublicKey(s string) (*rsa.PublicKey, error) {
	block, err := pemBlock(s)
	if err != nil {
		return nil, err
	}
	var der []byte
	switch block.Type {
	case "PUBLIC KEY":
		var rsaKey bool
		if der, rsaKey, err = unwrapPKIX(block.Bytes); err != nil {
			return nil, errors.New("pay: public key: not a valid PKIX key")
		}
		if !rsaKey {
			return nil, errors.New("pay: public key: not an RSA key")
		}
	case "RSA PUBLIC KEY":
		der = block.Bytes
	default:
		return nil, fmt.Errorf("pay: public key: unexpected PEM block %q", block.Type)
	}
	k, err := parsePKCS1Public(der)
	if err != nil {
		return nil, fmt.Errorf("pay: public key: %w", err)
	}
	return k, nil
}

// pemBlock reads s as PEM text, or else as a file path. Errors never quote s:
// it may be key material pasted without its BEGIN line.
func pemBlock(s string) (*pem.Block, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("pay: empty key")
	}
	data := []byte(s)
	if !strings.Contains(s, "-----BEGIN") {
		b, err := os.ReadFile(s)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, errors.New("pay: key is neither PEM text nor the path of an existing file")
		case err != nil:
			return nil, errors.New("pay: key file is not readable")
		}
		data = b
	} else if !strings.Contains(s, "\n") {
		data = []byte(strings.ReplaceAll(s, `\n`, "\n"))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("pay: key is not PEM encoded")
	}
	return block, nil
}

// oidRSAEncryption is the DER of rsaEncryption, 1.2.840.113549.1.1.1 (RFC
// 8017 appendix A.1), the algorithm of an RSA key in PKCS#8 and PKIX.
var oidRSAEncryption = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}

// DER tags used below (X.690 §8).
const (
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
)

// errDER is any DER that is not the expected shape.
var errDER = errors.New("malformed DER")

// derReader reads DER elements off the front of a byte string.
type derReader []byte

// next returns the contents of the next element, which must have tag.
// Lengths must be definite and minimal (DER).
func (d *derReader) next(tag byte) ([]byte, error) {
	b := *d
	if len(b) < 2 || b[0] != tag {
		return nil, errDER
	}
	n, head := int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k || b[2] == 0 {
			return nil, errDER // indefinite, over 16 MB, or not minimal
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		if n < 0x80 {
			return nil, errDER // the short form was required
		}
		head += k
	}
	if len(b)-head < n {
		return nil, errDER
	}
	*d = b[head+n:]
	return b[head : head+n], nil
}

// positive reads an INTEGER that must be positive and minimally encoded.
func (d *derReader) positive() (*big.Int, error) {
	b, err := d.next(tagInteger)
	switch {
	case err != nil:
		return nil, err
	case len(b) == 0, b[0]&0x80 != 0:
		return nil, errDER // empty, or negative
	case len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0:
		return nil, errDER // a leading zero that is not a sign
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, errDER
	}
	return n, nil
}

// small reads a non-negative INTEGER below 2³¹ (a version, an exponent).
func (d *derReader) small() (int, error) {
	b, err := d.next(tagInteger)
	if err != nil || len(b) == 0 || len(b) > 4 || b[0]&0x80 != 0 || (len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0) {
		return 0, errDER
	}
	v := 0
	for _, c := range b {
		v = v<<8 | int(c)
	}
	return v, nil
}

// sequence reads the whole of b as one SEQUENCE and returns its contents.
func sequence(b []byte) (derReader, error) {
	d := derReader(b)
	body, err := d.next(tagSequence)
	if err != nil || len(d) != 0 {
		return nil, errDER
	}
	return derReader(body), nil
}

// rsaAlgorithm reads an AlgorithmIdentifier and tells whether it is
// rsaEncryption. Its parameters must be NULL (RFC 8017 appendix A.1) or,
// as crypto/x509 tolerates in PKCS#8, absent.
func (d *derReader) rsaAlgorithm() (bool, error) {
	body, err := d.next(tagSequence)
	if err != nil {
		return false, err
	}
	alg := derReader(body)
	oid, err := alg.next(tagOID)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(oid, oidRSAEncryption) {
		return false, nil
	}
	if len(alg) == 0 {
		return true, nil
	}
	if null, err := alg.next(tagNull); err != nil || len(null) != 0 || len(alg) != 0 {
		return false, errDER
	}
	return true, nil
}

// unwrapPKCS8 returns the RSAPrivateKey inside a PKCS#8 PrivateKeyInfo (RFC
// 5208 §5; the optional attributes, or RFC 5958's public key, may follow),
// and whether the key is RSA at all.
func unwrapPKCS8(b []byte) (der []byte, isRSA bool, err error) {
	s, err := sequence(b)
	if err != nil {
		return nil, false, err
	}
	if v, err := s.small(); err != nil || v > 1 {
		return nil, false, errDER
	}
	if isRSA, err = s.rsaAlgorithm(); err != nil || !isRSA {
		return nil, false, err
	}
	der, err = s.next(tagOctetString)
	return der, true, err
}

// unwrapPKIX returns the RSAPublicKey inside a SubjectPublicKeyInfo (RFC
// 5280 §4.1), and whether the key is RSA at all.
func unwrapPKIX(b []byte) (der []byte, isRSA bool, err error) {
	s, err := sequence(b)
	if err != nil {
		return nil, false, err
	}
	if isRSA, err = s.rsaAlgorithm(); err != nil || !isRSA {
		return nil, false, err
	}
	bits, err := s.next(tagBitString)
	if err != nil || len(s) != 0 || len(bits) < 1 || bits[0] != 0 {
		return nil, false, errDER // the key is whole bytes: no unused bits
	}
	return bits[1:], true, nil
}

// parsePKCS1Public reads an RSAPublicKey: SEQUENCE { n, e }.
func parsePKCS1Public(der []byte) (*rsa.PublicKey, error) {
	s, err := sequence(der)
	if err != nil {
		return nil, errors.New("not a valid key")
	}
	n, err := s.positive()
	if err != nil {
		return nil, errors.New("not a valid key")
	}
	e, err := s.small()
	if err != nil || len(s) != 0 || e < 3 || e&1 == 0 || n.Bit(0) == 0 {
		return nil, errors.New("not a valid key")
	}
	return &rsa.PublicKey{N: n, E: e}, nil
}

// parsePKCS1Private reads a two-prime RSAPrivateKey (version 0: n, e, d, p,
// q, dP, dQ, qInv) and checks it (checkPrivate). Its errors say what is
// wrong, never a value.
func parsePKCS1Private(der []byte) (*rsa.PrivateKey, error) {
	bad := errors.New("not a valid RSA key")
	s, err := sequence(der)
	if err != nil {
		return nil, bad
	}
	if v, err := s.small(); err != nil || v != 0 {
		// Version 1 has more than two primes: deprecated, and not what
		// WeChat Pay issues.
		return nil, errors.New("not a two-prime RSA key")
	}
	n, err := s.positive()
	if err != nil {
		return nil, bad
	}
	e, err := s.small()
	if err != nil {
		return nil, bad
	}
	var v [6]*big.Int // d, p, q, dP, dQ, qInv
	for i := range v {
		if v[i], err = s.positive(); err != nil {
			return nil, bad
		}
	}
	if len(s) != 0 {
		return nil, bad
	}
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: n, E: e},
		D:         v[0],
		Primes:    []*big.Int{v[1], v[2]},
	}
	k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv = v[3], v[4], v[5]
	if err := checkPrivate(k); err != nil {
		return nil, err
	}
	return k, nil
}

// checkPrivate checks what crypto/rsa's precomputation checks
// (crypto/internal/fips140/rsa checkPublicKey and checkPrivateKey, as of Go
// 1.26), so that Precompute cannot fail on a key that passed here.
func checkPrivate(k *rsa.PrivateKey) error {
	n, e, d, p, q := k.N, big.NewInt(int64(k.E)), k.D, k.Primes[0], k.Primes[1]
	dP, dQ, qInv := k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv
	one := big.NewInt(1)
	var t, r big.Int
	switch {
	case n.BitLen() < 1024:
		return fmt.Errorf("a %d-bit RSA key is too short (at least 1024, and WeChat Pay issues 2048)", n.BitLen())
	case n.Bit(0) == 0 || k.E < 3 || k.E&1 == 0:
		return errors.New("not a valid RSA key (even modulus or exponent)")
	case p.Cmp(one) <= 0 || q.Cmp(one) <= 0 || t.Mul(p, q).Cmp(n) != 0:
		return errors.New("inconsistent RSA key (p·q is not n)")
	}
	pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	switch {
	case dP.Cmp(pm1) >= 0 || dQ.Cmp(qm1) >= 0 || qInv.Cmp(p) >= 0:
		return errors.New("inconsistent RSA key (a CRT value is out of range)")
	case r.Mod(t.Mul(e, dP), pm1).Cmp(one) != 0 || r.Mod(t.Mul(e, dQ), qm1).Cmp(one) != 0:
		return errors.New("inconsistent RSA key (invalid CRT exponent)")
	case r.Mod(t.Mul(qInv, q), p).Cmp(one) != 0:
		return errors.New("inconsistent RSA key (invalid CRT coefficient)")
	case d.Cmp(n) >= 0 || r.Mod(d, pm1).Cmp(dP) != 0 || r.Mod(d, qm1).Cmp(dQ) != 0:
		return errors.New("inconsistent RSA key (d does not match dP and dQ)")
	case t.Sub(p, q).Abs(&t).BitLen() <= n.BitLen()/2-100:
		return errors.New("not a safe RSA key (|p−q| too small)")
	case d.BitLen() <= n.BitLen()/2:
		return errors.New("not a safe RSA key (d too small)")
	}
	return nil
}
