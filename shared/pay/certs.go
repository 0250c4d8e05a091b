package pay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/minifn/minifn/shared/store"
)

// Platform certificates (certificate mode), cached fleet-wide in the store.
//
// One item per merchant holds the last verified download; one lease item per
// merchant is both the "one download at a time" lock and the rate limit: it
// is taken by a put-if-absent, lives certFetchEvery, and is not deleted after
// the download, so the whole fleet downloads at most once a minute whatever
// serials arrive. Waiting instances poll the lease until its holder is done
// and re-read the cache (the access-token pattern of shared/wechat/token.go).
//
// When: on first need (never at start), when a Wechatpay-Serial arrives that
// no cached certificate has, and lazily on use once the cache is older than
// certMaxAge (WeChat Pay: poll less than 12 h apart; a new certificate is
// listed 24 h before use). Doc: https://pay.weixin.qq.com/docs/merchant/development/interface-rules/wechatpay-certificates-rotation.html
const (
	certsPK      = "pay#certs"
	certsLeasePK = "pay#certs-lease"

	certFetchEvery = time.Minute
	certMaxAge     = 11 * time.Hour
	// certMemoTTL bounds the in-process copy: another instance's download
	// reaches this one within it (or at once, on an unknown serial).
	certMemoTTL = time.Minute
)

// cachedCerts is the store item's value: a verified download.
type cachedCerts struct {
	FetchedAt time.Time    `json:"fetched_at"`
	Certs     []cachedCert `json:"certs"`
}

type cachedCert struct {
	Serial string `json:"serial_no"`
	PEM    string `json:"pem"` // public material: certificates are not secrets
}

// certSet is a parsed cachedCerts.
type certSet struct {
	fetchedAt time.Time
	bySerial  map[string]*x509.Certificate // upper-case serial
	newest    string
}

func (s *certSet) get(serial string, now time.Time) (*x509.Certificate, bool) {
	if s == nil {
		return nil, false
	}
	c, ok := s.bySerial[strings.ToUpper(serial)]
	if !ok || now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, false
	}
	return c, true
}

// certLease is the lease item's value.
type certLease struct {
	ID   string `json:"id"`
	Done bool   `json:"done"` // the holder finished (stored, or failed)
}

// certCache is one client's view of the fleet-wide cache.
type certCache struct {
	c  *Client
	mu sync.Mutex
	// memo is the last set read or stored, until memoUntil.
	memo      *certSet
	memoUntil time.Time
}

func (cc *certCache) key() store.Key   { return store.Key{PK: certsPK, SK: cc.c.cfg.MchID} }
func (cc *certCache) lease() store.Key { return store.Key{PK: certsLeasePK, SK: cc.c.cfg.MchID} }

// newestSerial is the newest cached serial, or "" (no store access: it only
// fills the SDK's Wechatpay-Serial request header).
func (cc *certCache) newestSerial() string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.memo == nil {
		return ""
	}
	return cc.memo.newest
}

// publicKey returns the key of the certificate serial: from the cache,
// downloading first when the serial is unknown (once a minute at most,
// fleet-wide) or the cache is old. Returns ErrUnknownSerial when the serial
// is still unknown, ErrUnavailable when the download or the store fails and
// nothing cached can answer.
func (cc *certCache) publicKey(ctx context.Context, serial string) (*rsa.PublicKey, error) {
	now := cc.c.cfg.Now()
	set, err := cc.load(ctx, false)
	if err != nil {
		return nil, err
	}
	if cert, ok := set.get(serial, now); ok {
		if set.fetchedAt.Add(certMaxAge).Before(now) {
			// Rotation: refresh lazily; a failure leaves the cache as it is.
			if fresh, err := cc.refresh(ctx); err == nil {
				if c2, ok := fresh.get(serial, now); ok {
					cert = c2
				}
			}
		}
		return cert.PublicKey.(*rsa.PublicKey), nil
	}
	// Unknown here: another instance may have downloaded it already.
	if set, err = cc.load(ctx, true); err != nil {
		return nil, err
	}
	if cert, ok := set.get(serial, now); ok {
		return cert.PublicKey.(*rsa.PublicKey), nil
	}
	set, err = cc.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if cert, ok := set.get(serial, now); ok {
		return cert.PublicKey.(*rsa.PublicKey), nil
	}
	return nil, ErrUnknownSerial.WithMessage("Wechatpay-Serial %q is neither the public key id nor a current platform certificate", serial)
}

// load returns the cached set: the memo unless fresh is set or it is old,
// else the store item (nil when there is none).
func (cc *certCache) load(ctx context.Context, fresh bool) (*certSet, error) {
	now := cc.c.cfg.Now()
	cc.mu.Lock()
	if !fresh && cc.memo != nil && now.Before(cc.memoUntil) {
		s := cc.memo
		cc.mu.Unlock()
		return s, nil
	}
	cc.mu.Unlock()
	it, err := cc.c.cfg.Store.Get(ctx, cc.key())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, ErrUnavailable.WithMessage("reading the platform certificates failed").Wrap(err)
	}
	var v cachedCerts
	if json.Unmarshal(it.Value, &v) != nil {
		return nil, nil // unreadable: downloaded over
	}
	s := parseCached(v)
	cc.remember(s)
	return s, nil
}

func parseCached(v cachedCerts) *certSet {
	s := &certSet{fetchedAt: v.FetchedAt, bySerial: map[string]*x509.Certificate{}}
	var newestAt time.Time
	for _, c := range v.Certs {
		block, _ := pem.Decode([]byte(c.PEM))
		if block == nil {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		sn := strings.ToUpper(c.Serial)
		s.bySerial[sn] = cert
		if cert.NotBefore.After(newestAt) {
			newestAt, s.newest = cert.NotBefore, sn
		}
	}
	return s
}

func (cc *certCache) remember(s *certSet) {
	cc.mu.Lock()
	cc.memo, cc.memoUntil = s, cc.c.cfg.Now().Add(certMemoTTL)
	cc.mu.Unlock()
}

// refresh downloads the certificates if this instance wins the lease, or
// waits for the instance that holds it; either way it returns what the store
// then holds. The lease outlives the download (certFetchEvery): that is the
// fleet-wide rate limit.
func (cc *certCache) refresh(ctx context.Context) (*certSet, error) {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	val, _ := json.Marshal(certLease{ID: id})
	expires := cc.c.cfg.Now().Add(certFetchEvery)
	err := cc.c.cfg.Store.Write(ctx, store.Put(store.Item{Key: cc.lease(), Value: val, ExpiresAt: expires}).IfAbsent())
	switch {
	case errors.Is(err, store.ErrConditionFailed):
		return cc.waitForHolder(ctx)
	case err != nil:
		return nil, ErrUnavailable.WithMessage("taking the platform certificate lease failed").Wrap(err)
	}
	set, ferr := cc.download(ctx)
	// Done, whatever happened: waiters re-read the cache; the item stays until
	// it expires, so nobody downloads again within the minute.
	done, _ := json.Marshal(certLease{ID: id, Done: true})
	cc.c.cfg.Store.Write(context.WithoutCancel(ctx), store.Put(store.Item{Key: cc.lease(), Value: done, ExpiresAt: expires}))
	if ferr != nil {
		return nil, ferr
	}
	return set, nil
}

// waitForHolder polls the lease until its holder is done (or gone), then
// re-reads the cache. Real time, not the injected clock: the store's clock
// may be a test's frozen one.
func (cc *certCache) waitForHolder(ctx context.Context) (*certSet, error) {
	wait, start, limit := 10*time.Millisecond, time.Now(), cc.c.cfg.HTTP.Timeout+2*time.Second
	for {
		it, err := cc.c.cfg.Store.Get(ctx, cc.lease())
		var l certLease
		if err != nil || json.Unmarshal(it.Value, &l) != nil || l.Done {
			return cc.load(ctx, true)
		}
		if time.Since(start) > limit {
			return nil, ErrUnavailable.WithMessage("timed out waiting for another instance to download the platform certificates")
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ErrUnavailable.Wrap(ctx.Err())
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// certificatesAnswer is GET /v3/certificates' body.
type certificatesAnswer struct {
	Data []struct {
		SerialNo           string `json:"serial_no"`
		EffectiveTime      string `json:"effective_time"`
		ExpireTime         string `json:"expire_time"`
		EncryptCertificate struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// download fetches GET /v3/certificates, verifies it, and stores it.
//
// Trust rule: each encrypt_certificate must decrypt with the APIv3 key
// (AEAD_AES_256_GCM, 12-byte nonce, AAD = associated_data), which only
// WeChat Pay and the merchant hold; its x509 serial must equal serial_no;
// certificates outside NotBefore..NotAfter are dropped. The answer itself
// must then be signed (the usual Wechatpay-* headers, within 5 minutes)
// by the key its Wechatpay-Serial names: the public key when that is its id,
// else a certificate of this very download or of the cache. A first
// download is therefore self-consistent rather than chained to a root: the
// chain to Tenpay's CA is not checked (wechatpay-go does not either, and
// checks no signature at all on a first download). Any failure caches nothing.
func (cc *certCache) download(ctx context.Context) (*certSet, error) {
	res, err := cc.c.downloader.Get(ctx, consts.WechatPayAPIServer+"/v3/certificates")
	if err != nil {
		return nil, fail("certificate download", err, ErrUnavailable)
	}
	resp := res.Response
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, ErrUnavailable.WithMessage("reading the platform certificates failed").Wrap(err)
	}
	bad := func(msg string, args ...any) error {
		return ErrUnavailable.WithMessage("the platform certificate download is refused: "+msg, args...)
	}
	var ans certificatesAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, bad("the answer is not JSON")
	}
	now := cc.c.cfg.Now()
	v := cachedCerts{FetchedAt: now}
	for _, d := range ans.Data {
		ec := d.EncryptCertificate
		if ec.Algorithm != "AEAD_AES_256_GCM" || len(ec.Nonce) != cc.c.aead().NonceSize() {
			return nil, bad("certificate %s: unsupported algorithm or nonce", d.SerialNo)
		}
		sealed, err := base64.StdEncoding.DecodeString(ec.Ciphertext)
		if err != nil {
			return nil, bad("certificate %s: ciphertext is not base64", d.SerialNo)
		}
		plain, err := cc.c.aead().Open(nil, []byte(ec.Nonce), sealed, []byte(ec.AssociatedData))
		if err != nil {
			return nil, bad("certificate %s does not decrypt with the APIv3 key", d.SerialNo)
		}
		block, _ := pem.Decode(plain)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, bad("certificate %s is not a PEM certificate", d.SerialNo)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, bad("certificate %s does not parse", d.SerialNo)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !strings.EqualFold(serialOf(cert), d.SerialNo) {
			return nil, bad("certificate %s: not RSA, or its serial differs", d.SerialNo)
		}
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			continue // listed but not (or no longer) valid: never used to verify
		}
		v.Certs = append(v.Certs, cachedCert{Serial: strings.ToUpper(d.SerialNo), PEM: string(plain)})
	}
	// A merchant on the public key alone gets an empty list: a valid answer
	// (signed with the public key), after which an unknown serial is just
	// unknown (401 on a notify), not a failure of WeChat Pay (502).
	if len(v.Certs) == 0 && (len(ans.Data) > 0 || cc.c.cfg.PublicKey == nil) {
		return nil, bad("no valid certificate in the answer")
	}
	set := parseCached(v)
	old, _ := cc.load(ctx, false)
	keyOf := func(serial string) (*rsa.PublicKey, error) {
		if cc.c.cfg.PublicKey != nil && serial == cc.c.cfg.PublicKeyID {
			return cc.c.cfg.PublicKey, nil
		}
		for _, s := range []*certSet{set, old} {
			if cert, ok := s.get(serial, now); ok {
				return cert.PublicKey.(*rsa.PublicKey), nil
			}
		}
		return nil, ErrUnknownSerial
	}
	if err := cc.c.verifyWith(resp.Header, body, keyOf); err != nil {
		return nil, bad("its signature does not verify (%s)", err.Error())
	}
	value, _ := json.Marshal(v)
	if err := cc.c.cfg.Store.Write(ctx, store.Put(store.Item{Key: cc.key(), Value: value})); err != nil {
		return nil, ErrUnavailable.WithMessage("storing the platform certificates failed").Wrap(err)
	}
	cc.remember(set)
	return set, nil
}

// serialOf is a certificate's serial as WeChat Pay writes it: upper-case
// hex of the serial's bytes (wechatpay-go utils.GetCertificateSerialNumber).
func serialOf(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))
}
