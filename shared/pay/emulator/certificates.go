package emulator

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"time"
)

// Signing modes of a merchant (Merchant.Mode) and of one notify (SignNextNotify).
const (
	// ModePublicKey signs with the WeChat Pay public key (Wechatpay-Serial
	// PUB_KEY_ID_…); /v3/certificates lists nothing. The default.
	ModePublicKey = "public_key"
	// ModeCertificate signs with the newest platform certificate's key
	// (Wechatpay-Serial: its serial), as for merchants opened before the
	// public key existed. A request that carries Wechatpay-Serial: PUB_KEY_ID_…
	// still gets its answer signed with the public key, as WeChat Pay does
	// during a switch (WECHAT-PROTOCOLS.md §1.6).
	ModeCertificate = "certificate"
)

// certLife is a platform certificate's validity (5 years, §1.6); a rotated
// certificate stays listed, and valid for signatures, this long after the
// switch (the docs: "the old one dies within a day").
const (
	certLife    = 5 * 365 * 24 * time.Hour
	rotateGrace = 24 * time.Hour
)

// platformCert is one platform certificate and its private key.
type platformCert struct {
	serial    string // upper-case hex of the x509 serial, as WeChat Pay writes it
	key       *rsa.PrivateKey
	pem       []byte
	effective time.Time
	expire    time.Time // listed expire_time: NotAfter, or the end of the grace after a rotation
}

// newCert makes a self-signed certificate for key. Real platform
// certificates are issued by Tenpay's CA; no client here checks the chain.
func newCert(key *rsa.PrivateKey, now time.Time) (*platformCert, error) {
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, err
	}
	sn.SetBit(sn, 152, 1) // 20 bytes, so the serial is 40 hex digits as WeChat Pay's
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (minifn emulator)", Organization: []string{"minifn emulator"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &platformCert{serial: fmt.Sprintf("%X", sn.Bytes()), key: key,
		pem:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		effective: tmpl.NotBefore, expire: tmpl.NotAfter}, nil
}

// currentCertLocked returns the newest platform certificate, making the
// first one on first need (Options.CertKey, or a new key); e.mu must be held.
func (e *Emulator) currentCertLocked() (*platformCert, error) {
	if len(e.certs) == 0 {
		key := e.opts.CertKey
		if key == nil {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return nil, err
			}
			key = k
		}
		c, err := newCert(key, e.now())
		if err != nil {
			return nil, err
		}
		e.certs = append(e.certs, c)
	}
	return e.certs[len(e.certs)-1], nil
}

// liveCertsLocked drops certificates past their listed expiry and returns
// the rest, oldest first; e.mu must be held.
func (e *Emulator) liveCertsLocked() []*platformCert {
	now, live := e.now(), e.certs[:0]
	for _, c := range e.certs {
		if now.Before(c.expire) {
			live = append(live, c)
		}
	}
	e.certs = live
	return live
}

// RotateCertificate lists a new platform certificate alongside the old
// ones and signs with it from now on (for every merchant in certificate
// mode); the previous one stays listed, and its expire_time becomes a day
// from now. key is the new certificate's key; nil generates one. Returns
// the new serial.
func (e *Emulator) RotateCertificate(key *rsa.PrivateKey) (string, error) {
	defer e.changed() // the state file, if any
	if key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		key = k
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old, err := e.currentCertLocked()
	if err != nil {
		return "", err
	}
	c, err := newCert(key, e.now())
	if err != nil {
		return "", err
	}
	old.expire = minTime(old.expire, e.now().Add(rotateGrace))
	e.certs = append(e.certs, c)
	return c.serial, nil
}

// Certificates returns the listed platform certificates as PEM by serial
// (made on first call if there are none yet): what a merchant in
// certificate mode downloads, for tests and tools.
func (e *Emulator) Certificates() (map[string]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.currentCertLocked(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range e.liveCertsLocked() {
		out[c.serial] = string(c.pem)
	}
	return out, nil
}

// CertificateDownloads counts the answers to GET /v3/certificates so far.
func (e *Emulator) CertificateDownloads() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.certFetches
}

// SignNextNotify makes the next notify sent to mchid (with its retries and
// resends) signed with the certificate (ModeCertificate) or the public key
// (ModePublicKey), whatever the merchant's mode: during a switch, WeChat
// Pay signs notifies either way.
func (e *Emulator) SignNextNotify(mchid, mode string) error {
	defer e.changed() // the state file, if any
	if _, ok := e.opts.Merchants[mchid]; !ok {
		return fmt.Errorf("%w: unknown mchid", ErrNotFound)
	}
	if mode != ModeCertificate && mode != ModePublicKey {
		return fmt.Errorf("emulator: mode must be %s or %s", ModeCertificate, ModePublicKey)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextSigner[mchid] = mode
	return nil
}

// signer is a key and the serial that names it.
type signer struct {
	serial string
	key    *rsa.PrivateKey
}

// signerLocked picks the key for an answer or notify: mode, else the
// merchant's; e.mu must be held.
func (e *Emulator) signerLocked(m Merchant, mode string) signer {
	if mode == "" {
		mode = m.Mode
	}
	if mode == ModeCertificate {
		if c, err := e.currentCertLocked(); err == nil {
			return signer{c.serial, c.key}
		}
		// Only a failing key generation lands here: sign with the key, which
		// a certificate-mode client refuses loudly rather than silently.
	}
	return signer{e.keyID, e.key}
}

// listCertificates serves GET /v3/certificates: every listed certificate,
// its PEM sealed with the caller's APIv3 key (AEAD_AES_256_GCM, a 12-byte
// nonce, associated_data "certificate"). A merchant in public-key mode gets
// an empty list, as public-key-only merchants do.
func (e *Emulator) listCertificates(c call) (int, any) {
	type enc struct {
		Algorithm      string `json:"algorithm"`
		Nonce          string `json:"nonce"`
		AssociatedData string `json:"associated_data"`
		Ciphertext     string `json:"ciphertext"`
	}
	type item struct {
		SerialNo           string `json:"serial_no"`
		EffectiveTime      string `json:"effective_time"`
		ExpireTime         string `json:"expire_time"`
		EncryptCertificate enc    `json:"encrypt_certificate"`
	}
	data := []item{}
	e.mu.Lock()
	e.certFetches++
	e.mu.Unlock()
	if c.m.Mode != ModeCertificate {
		return http.StatusOK, map[string]any{"data": data}
	}
	block, _ := aes.NewCipher([]byte(c.m.APIv3Key)) // 32 bytes, checked by New
	aead, _ := cipher.NewGCM(block)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.currentCertLocked(); err != nil {
		return 0, errorf(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
	}
	for _, pc := range e.liveCertsLocked() {
		nonce := randomString(aead.NonceSize())
		data = append(data, item{SerialNo: pc.serial, EffectiveTime: fmtTime(pc.effective), ExpireTime: fmtTime(pc.expire),
			EncryptCertificate: enc{Algorithm: "AEAD_AES_256_GCM", Nonce: nonce, AssociatedData: "certificate",
				Ciphertext: base64.StdEncoding.EncodeToString(aead.Seal(nil, []byte(nonce), pc.pem, []byte("certificate")))}})
	}
	return http.StatusOK, map[string]any{"data": data}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
