package emulator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/snapshot"
)

// Merchant is a merchant the emulator serves.
type Merchant struct {
	PublicKey  *rsa.PublicKey // verifies the merchant's request signatures
	CertSerial string         // the serial_no its requests must carry
	APIv3Key   string         // 32 bytes; encrypts its notifies
	AppIDs     []string       // appids bound to it; empty accepts any
	// Mode is how its answers and notifies are signed: ModePublicKey (""
	// too) or ModeCertificate.
	Mode string
}

// Options configure an Emulator.
type Options struct {
	Merchants map[string]Merchant // by mchid
	Now       func() time.Time    // default time.Now
	HTTP      *http.Client        // sends notifies; default a client with WeChat's 5 s limit
	// Key is the platform private key; generated (RSA 2048) when nil.
	Key *rsa.PrivateKey
	// PublicKeyID names Key; default PUB_KEY_ID_0000… with random digits.
	PublicKeyID string
	// CertKey is the key of the first platform certificate (certificate
	// mode); generated on first need when nil. RotateCertificate adds others.
	CertKey *rsa.PrivateKey
	// RetryDivisor divides WeChat Pay's notify retry schedule; default 1000.
	RetryDivisor int
	// ManualRefunds keeps refunds PROCESSING until CompleteRefund; by
	// default they succeed right after creation.
	ManualRefunds bool
	// StateFile, when set, keeps the emulator's state in that JSON file
	// (mode 0600: it holds the platform private keys): read by New, written
	// soon after each change and by Close (state.go). The saved platform
	// key, its id and certificates are used unless Key, PublicKeyID are
	// set. "": in memory only, the default.
	StateFile string
}

// Errors of the developer actions.
var (
	ErrNotFound    = errors.New("emulator: no such transaction or refund")
	ErrAmbiguous   = errors.New("emulator: out_trade_no exists for several merchants; pass the mchid")
	ErrClosed      = errors.New("emulator: the transaction is closed")
	ErrExpired     = errors.New("emulator: the transaction has expired")
	ErrAlreadyPaid = errors.New("emulator: the transaction is already paid")
	ErrNotPending  = errors.New("emulator: the refund is not PROCESSING")
)

// notifySchedule is WeChat Pay's documented retry schedule (24h4m in total).
var notifySchedule = [...]time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// Emulator is an in-memory WeChat Pay, kept in a state file with
// Options.StateFile. It is safe for concurrent use; Close stops its notify
// retries (and writes the state file).
type Emulator struct {
	opts    Options
	key     *rsa.PrivateKey
	keyID   string
	handler http.Handler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	seq     int
	orders  map[tradeKey]*order // by mchid and out_trade_no
	byTxID  map[string]*order
	refunds map[tradeKey]*refund // by mchid and out_refund_no
	// refundFaults are armed by FailRefunds, by out_trade_no.
	refundFaults map[string]*RefundFault
	deliveries   []*Delivery
	bodies       map[string]notifyJob // last body sent per delivery id
	certs        []*platformCert      // listed platform certificates, oldest first; the last signs
	nextSigner   map[string]string    // by mchid: the mode of its next notify (SignNextNotify)
	certFetches  int                  // GET /v3/certificates answered 200

	persist *snapshot.Writer // nil without Options.StateFile
	resume  []notifyJob      // deliveries to resume, loaded from the state file
}

type tradeKey struct{ mchid, no string }

// New returns an emulator serving opts.Merchants.
func New(opts Options) (*Emulator, error) {
	if len(opts.Merchants) == 0 {
		return nil, errors.New("emulator: no merchants")
	}
	for id, m := range opts.Merchants {
		if m.PublicKey == nil || m.CertSerial == "" || len(m.APIv3Key) != 32 {
			return nil, fmt.Errorf("emulator: merchant %s needs PublicKey, CertSerial and a 32-byte APIv3Key", id)
		}
		if m.Mode != "" && m.Mode != ModePublicKey && m.Mode != ModeCertificate {
			return nil, fmt.Errorf("emulator: merchant %s: Mode must be %s or %s", id, ModePublicKey, ModeCertificate)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.RetryDivisor <= 0 {
		opts.RetryDivisor = 1000
	}
	e := &Emulator{
		opts: opts, key: opts.Key, keyID: opts.PublicKeyID,
		orders: map[tradeKey]*order{}, byTxID: map[string]*order{}, refunds: map[tradeKey]*refund{},
		refundFaults: map[string]*RefundFault{},
		bodies:       map[string]notifyJob{},
		nextSigner:   map[string]string{},
	}
	if opts.StateFile != "" {
		if err := e.openState(); err != nil {
			return nil, err
		}
	}
	if e.key != nil {
		if err := e.key.Validate(); err != nil {
			return nil, fmt.Errorf("emulator: platform key: %w", err)
		}
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("emulator: generating the platform key: %w", err)
		}
		e.key = k
	}
	if e.keyID == "" {
		e.keyID = "PUB_KEY_ID_0000" + digits(26)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	h := e.routes()
	e.handler = h
	if e.persist != nil {
		// Any request may change the state (even GET /v3/certificates makes
		// the first certificate); the writer skips unchanged states.
		e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			e.changed()
		})
		e.changed() // a generated key is saved at once
		e.resumeDeliveries()
	}
	return e, nil
}

// PublicKey returns the platform public key and its id (the Wechatpay-Serial
// of every response and notify): what a merchant configures as
// MINIFN_PAY_PUBLIC_KEY and MINIFN_PAY_PUBLIC_KEY_ID.
func (e *Emulator) PublicKey() (*rsa.PublicKey, string) { return &e.key.PublicKey, e.keyID }

// PublicKeyPEM returns the platform public key as PEM ("PUBLIC KEY", PKIX).
func (e *Emulator) PublicKeyPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&e.key.PublicKey) // an RSA key always marshals
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Handler serves the WeChat Pay API and the developer controls.
func (e *Emulator) Handler() http.Handler { return e.handler }

// Close stops pending notify retries, waits for deliveries in flight, and
// writes the state file (with Options.StateFile), where the retries cut
// short are recorded to resume at the next start.
func (e *Emulator) Close() error {
	e.cancel()
	e.wg.Wait()
	return e.persist.Close()
}

func (e *Emulator) now() time.Time { return e.opts.Now() }

// nextSeq returns a number unique within this emulator; e.mu must be held.
func (e *Emulator) nextSeq() int {
	e.seq++
	return e.seq
}

// digits returns n random decimal digits.
func digits(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// randomString returns n random characters of [0-9A-Za-z], as WeChat's nonces.
func randomString(n int) string {
	const symbols = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = symbols[int(b[i])%len(symbols)]
	}
	return string(b)
}

// beijing is the zone WeChat Pay writes times in.
var beijing = time.FixedZone("CST", 8*60*60)

func fmtTime(t time.Time) string { return t.In(beijing).Format(time.RFC3339) }
