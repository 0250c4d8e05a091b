package pay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/minifn/minifn/shared/apperr"
)

// maxSkew is how far Wechatpay-Timestamp may be from the clock, per the
// signature-verification docs (and the SDK's consts.FiveMinute).
const maxSkew = 5 * time.Minute

// Client calls WeChat Pay API v3 for one merchant and verifies its notifies.
// It is safe for concurrent use.
type Client struct {
	cfg     Config
	jsapi   *jsapi.JsapiApiService
	refunds *refunddomestic.RefundsApiService
	// aead is AEAD_AES_256_GCM with the APIv3 key, which opens notifies and
	// downloaded certificates: built on first use, since the functions that
	// never receive a notify never need it.
	aead func() cipher.AEAD
	// downloader fetches /v3/certificates: signed like every request, with
	// no response validator, since certCache.download verifies the answer
	// with the certificates it carries. nil in public-key-only mode.
	downloader *core.Client
	certs      *certCache // nil without a store
	// merchantKey is cfg.PrivateKey, precomputed on the first signature
	// (key.go: LoadPrivateKey checked it at start, without precomputing).
	merchantKey func() (*rsa.PrivateKey, error)
}

// notifyFetchTimeout bounds a certificate download made while verifying a
// notify: WeChat Pay waits 5 s for the answer.
const notifyFetchTimeout = 4 * time.Second

// New returns a client for cfg. It checks the config and builds the SDK
// clients; it makes no network call: platform certificates are downloaded
// on first need.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg}
	c.aead = sync.OnceValue(func() cipher.AEAD {
		// Neither fails: validate checked that the key is 32 bytes (AES-256),
		// and AES has the 16-byte block GCM needs.
		block, _ := aes.NewCipher([]byte(cfg.APIv3Key))
		aead, _ := cipher.NewGCM(block)
		return aead
	})
	// A copy, so that precomputing never writes to the caller's key, which
	// another goroutine may be using.
	key := *cfg.PrivateKey
	c.merchantKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
		key.Precompute()
		if err := key.Validate(); err != nil {
			return nil, errors.New("pay: the merchant private key fails crypto/rsa's check")
		}
		return &key, nil
	})
	signer := merchantSigner{c}
	httpClient := cfg.HTTP
	if cfg.BaseURL != DefaultBaseURL {
		base, _ := url.Parse(cfg.BaseURL) // validated above
		hc := *cfg.HTTP
		hc.Transport = rehost{base: base, next: transportOf(cfg.HTTP)}
		httpClient = &hc
	}
	// The SDK signs requests (its SHA256WithRSASigner, in merchantSigner);
	// responses go through our validator in both modes, since the SDK's
	// verifiers take a certificate getter that cannot say "the store is
	// down" from "no such serial", nor refresh, nor use our clock. No
	// cipher: minifn sends no encrypted fields. The settings are given
	// whole rather than through core/option, whose package links the SDK's
	// ciphers, verifiers and certificate downloader (with a reflection
	// table built at init) for three one-line setters.
	sdk, err := core.NewClientWithDialSettings(context.Background(),
		&core.DialSettings{HTTPClient: httpClient, Signer: signer, Validator: responseValidator{c}})
	if err != nil {
		return nil, errors.New("pay: building the WeChat Pay SDK client failed")
	}
	if cfg.Store != nil {
		c.certs = &certCache{c: c}
		c.downloader, err = core.NewClientWithDialSettings(context.Background(),
			&core.DialSettings{HTTPClient: httpClient, Signer: signer, Validator: noValidation{}})
		if err != nil {
			return nil, errors.New("pay: building the WeChat Pay SDK client failed")
		}
	}
	c.jsapi = &jsapi.JsapiApiService{Client: sdk}
	c.refunds = &refunddomestic.RefundsApiService{Client: sdk}
	return c, nil
}

// AppID returns the configured appid (the one paySign is computed for).
func (c *Client) AppID() string { return c.cfg.AppID }

// MchID returns the configured merchant id.
func (c *Client) MchID() string { return c.cfg.MchID }

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// rehost sends the SDK's requests, whose host is hard-coded to
// api.mch.weixin.qq.com, to BaseURL instead. The SDK has no host option.
type rehost struct {
	base *url.URL
	next http.RoundTripper
}

func (t rehost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not modify its request
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
	return t.next.RoundTrip(r)
}

// merchantSigner is the SDK's SHA256WithRSASigner over the precomputed
// merchant key.
type merchantSigner struct{ c *Client }

func (s merchantSigner) Sign(ctx context.Context, message string) (*auth.SignatureResult, error) {
	key, err := s.c.merchantKey()
	if err != nil {
		return nil, err
	}
	return (&signers.SHA256WithRSASigner{MchID: s.c.cfg.MchID, CertificateSerialNo: s.c.cfg.CertSerial, PrivateKey: key}).Sign(ctx, message)
}

func (merchantSigner) Algorithm() string { return (&signers.SHA256WithRSASigner{}).Algorithm() }

// noValidation accepts every answer: the certificate download's, which
// certCache.download verifies itself (the SDK's option.WithoutValidator).
type noValidation struct{}

func (noValidation) Validate(context.Context, *http.Response) error { return nil }

func (noValidation) GetAcceptSerial(context.Context) (string, error) {
	return "", errors.New("pay: the certificate download names no serial")
}

// responseValidator is the SDK's response check (serial, timestamp, signature
// over "timestamp\nnonce\nbody\n"), done with the injected clock.
type responseValidator struct{ c *Client }

func (v responseValidator) Validate(ctx context.Context, resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return v.c.verify(ctx, resp.Header, body)
}

// GetAcceptSerial fills the request header Wechatpay-Serial: the key we
// verify with. WeChat Pay signs the answer with the public key when it is
// named there, so public-key mode never needs a certificate for answers; in
// certificate mode it names the newest cached certificate, if any.
func (v responseValidator) GetAcceptSerial(context.Context) (string, error) {
	if v.c.cfg.PublicKey != nil {
		return v.c.cfg.PublicKeyID, nil
	}
	if s := v.c.certs.newestSerial(); s != "" {
		return s, nil
	}
	return "", errors.New("pay: no platform certificate cached yet")
}

// verify checks a WeChat Pay signature on header and body with the key its
// Wechatpay-Serial names (keyFor).
func (c *Client) verify(ctx context.Context, h http.Header, body []byte) error {
	return c.verifyWith(h, body, func(serial string) (*rsa.PublicKey, error) { return c.keyFor(ctx, serial) })
}

// keyFor picks the key by serial: the public key when serial is its id,
// else the platform certificate with that serial (downloaded if need be).
func (c *Client) keyFor(ctx context.Context, serial string) (*rsa.PublicKey, error) {
	switch {
	case c.cfg.PublicKey != nil && serial == c.cfg.PublicKeyID:
		return c.cfg.PublicKey, nil
	case serial == "":
		return nil, ErrInvalidSignature.WithMessage("Wechatpay-Serial is required")
	case c.certs == nil:
		return nil, ErrUnknownSerial.WithMessage("Wechatpay-Serial %q is not the configured public key id", serial)
	}
	return c.certs.publicKey(ctx, serial)
}

// verifyWith checks the signature headers, the timestamp (within maxSkew of
// the clock) and the SHA256withRSA signature over "timestamp\nnonce\nbody\n"
// with the key keyOf gives for Wechatpay-Serial.
func (c *Client) verifyWith(h http.Header, body []byte, keyOf func(serial string) (*rsa.PublicKey, error)) error {
	serial, sig := h.Get(consts.WechatPaySerial), h.Get(consts.WechatPaySignature)
	ts, nonce := h.Get(consts.WechatPayTimestamp), h.Get(consts.WechatPayNonce)
	if sig == "" || ts == "" || nonce == "" {
		return ErrInvalidSignature.WithMessage("Wechatpay-Signature, -Timestamp and -Nonce are required")
	}
	if t := h.Get("Wechatpay-Signature-Type"); t != "" && t != "WECHATPAY2-SHA256-RSA2048" {
		return ErrInvalidSignature.WithMessage("unsupported Wechatpay-Signature-Type %q", t)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidSignature.WithMessage("Wechatpay-Timestamp is not a number")
	}
	if d := c.cfg.Now().Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return ErrStaleNotify.WithMessage("Wechatpay-Timestamp is %s off the clock", d.Round(time.Second))
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrInvalidSignature.WithMessage("Wechatpay-Signature is not base64")
	}
	// The key last: a stale or malformed message never triggers a download.
	key, err := keyOf(serial)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(ts)+len(nonce)+len(body)+3)
	msg = append(append(append(append(append(append(msg, ts...), '\n'), nonce...), '\n'), body...), '\n')
	sum := sha256.Sum256(msg)
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw) != nil {
		return ErrInvalidSignature
	}
	return nil
}

// sign returns base64(SHA256withRSA(msg)) with the merchant key.
func (c *Client) sign(msg string) (string, error) {
	key, err := c.merchantKey()
	if err != nil {
		return "", apperr.From(err)
	}
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", apperr.From(errors.New("pay: signing failed"))
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// nonceStr returns 32 random characters from [0-9A-Za-z].
func nonceStr() string {
	const symbols = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = symbols[int(b[i])%len(symbols)]
	}
	return string(b)
}

// fail turns an SDK error into the package's errors; nf is what "not found"
// means for op. The SDK returns *core.APIError for non-2xx answers and plain
// errors for everything else (network, timeout, bad response signature,
// undecodable body).
func fail(op string, err error, nf *apperr.Error) error {
	var api *core.APIError
	if !errors.As(err, &api) {
		return ErrUnavailable.WithMessage("WeChat Pay %s failed", op).Wrap(err)
	}
	cause := &APIError{Status: api.StatusCode, Code: api.Code, Message: api.Message}
	switch {
	case api.StatusCode >= 500 || api.StatusCode == http.StatusTooManyRequests:
		return ErrUnavailable.WithMessage("WeChat Pay %s failed: %s", op, api.Code).Wrap(cause)
	case api.Code == "ORDERPAID":
		return ErrOrderPaid.Wrap(cause)
	case api.Code == "ORDER_CLOSED":
		return ErrOrderClosed.Wrap(cause)
	case api.Code == "OUT_TRADE_NO_USED":
		return ErrOutTradeNoUsed.Wrap(cause)
	case api.StatusCode == http.StatusNotFound || api.Code == "ORDER_NOT_EXIST" ||
		api.Code == "ORDERNOTEXIST" || api.Code == "RESOURCE_NOT_EXISTS":
		return nf.Wrap(cause)
	}
	return ErrRejected.WithMessage("WeChat Pay refused %s: %s %s", op, api.Code, strings.TrimSpace(api.Message)).Wrap(cause)
}

// beijing is the zone WeChat Pay writes its times in (+08:00).
var beijing = time.FixedZone("CST", 8*60*60)

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
