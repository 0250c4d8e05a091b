package pay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Keys are read at start, so that a bad MINIFN_PAY_PRIVATE_KEY or
// MINIFN_PAY_PUBLIC_KEY fails the function there, with one line naming the
// variable, rather than at its first payment. They are parsed by
// crypto/x509, which also validates and precomputes the private key: about
// 0.6 ms more of a Pay function's start than a hand-written DER reader
// checked with math/big would take (BENCHMARKS.md, "Cold start of the
// WeChat Pay functions"), a price paid for not keeping key-parsing code of
// our own.

// LoadPrivateKey parses an RSA private key (PKCS#8 "PRIVATE KEY", as WeChat
// Pay issues it, or PKCS#1) given as PEM text or as the path of a PEM file,
// since MINIFN_PAY_PRIVATE_KEY accepts either. Literal "\n" sequences, as
// some consoles store multi-line env vars, are read as newlines. An
// inconsistent key (its CRT values do not agree) is refused here.
func LoadPrivateKey(s string) (*rsa.PrivateKey, error) {
	block, err := pemBlock(s)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("pay: private key: not a valid PKCS#8 RSA key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("pay: private key: not an RSA key")
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("pay: private key: not a valid PKCS#1 RSA key")
		}
		return k, nil
	}
	return nil, fmt.Errorf("pay: private key: unexpected PEM block %q", block.Type)
}

// LoadPublicKey parses the WeChat Pay public key ("PUBLIC KEY", PKIX, as
// downloaded from the merchant platform, or PKCS#1) given as PEM text or as
// the path of a PEM file.
func LoadPublicKey(s string) (*rsa.PublicKey, error) {
	block, err := pemBlock(s)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("pay: public key: not a valid PKIX key")
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("pay: public key: not an RSA key")
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("pay: public key: not a valid PKCS#1 key")
		}
		return k, nil
	}
	return nil, fmt.Errorf("pay: public key: unexpected PEM block %q", block.Type)
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
