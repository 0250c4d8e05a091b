package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/snapshot"
)

// The state file (Options.StateFile) holds what a restart must not forget:
// transactions, refunds, armed refund faults, notify deliveries with their
// bodies (a delivery cut short by Close resumes at the next start, at its
// next scheduled attempt), the platform key and its id, and the platform
// certificates with their keys. Not kept: the count of certificate
// downloads (per run, like the WeChat emulator's call counts), and the
// merchants, which the caller configures (`minifn dev` keeps its own).
type state struct {
	Version      int                    `json:"version"`
	Seq          int                    `json:"seq"`
	PlatformKey  string                 `json:"platform_private_key"` // PKCS #8 PEM
	PublicKeyID  string                 `json:"public_key_id"`
	Certificates []certState            `json:"platform_certificates,omitempty"`
	Transactions []orderState           `json:"transactions"`
	Refunds      []refundState          `json:"refunds"`
	RefundFaults map[string]RefundFault `json:"refund_faults,omitempty"`
	Notifies     []deliveryState        `json:"notifies"`
	Bodies       map[string][]byte      `json:"notify_bodies,omitempty"` // by notify id
	NextSigner   map[string]string      `json:"next_signer,omitempty"`
}

const stateVersion = 1

type certState struct {
	Serial    string    `json:"serial_no"`
	Key       string    `json:"private_key"` // PKCS #8 PEM
	PEM       string    `json:"certificate"`
	Effective time.Time `json:"effective_time"`
	Expire    time.Time `json:"expire_time"`
}

type orderState struct {
	order
	ExpiresAt   time.Time `json:"ExpiresAt"`
	CreatedAt   time.Time `json:"CreatedAt"`
	SuccessTime time.Time `json:"SuccessTime"`
	Refunded    int64     `json:"Refunded"`
}

type refundState struct {
	refund
	CreateTime  time.Time `json:"CreateTime"`
	SuccessTime time.Time `json:"SuccessTime"`
}

type deliveryState struct {
	Delivery
	// Stopped: Close cut its attempts short; the next start resumes them.
	Stopped bool `json:"stopped,omitempty"`
}

// snapshotLocked returns the state to save; e.mu must be held.
func (e *Emulator) snapshotLocked() *state {
	s := &state{Version: stateVersion, Seq: e.seq, PlatformKey: keyPEM(e.key), PublicKeyID: e.keyID,
		Transactions: []orderState{}, Refunds: []refundState{}, Notifies: []deliveryState{},
		RefundFaults: map[string]RefundFault{}, Bodies: map[string][]byte{}, NextSigner: map[string]string{}}
	for _, c := range e.certs {
		s.Certificates = append(s.Certificates, certState{Serial: c.serial, Key: keyPEM(c.key), PEM: string(c.pem),
			Effective: c.effective, Expire: c.expire})
	}
	for _, o := range e.orders {
		s.Transactions = append(s.Transactions, orderState{order: *o, ExpiresAt: o.expiresAt, CreatedAt: o.createdAt,
			SuccessTime: o.successTime, Refunded: o.refunded})
	}
	// Stable order, so that an unchanged state writes nothing (maps iterate at random).
	sortBy(s.Transactions, func(o orderState) string { return o.PrepayID })
	for _, r := range e.refunds {
		s.Refunds = append(s.Refunds, refundState{refund: *r, CreateTime: r.createTime, SuccessTime: r.successTime})
	}
	sortBy(s.Refunds, func(r refundState) string { return r.RefundID })
	for no, f := range e.refundFaults {
		s.RefundFaults[no] = *f
	}
	for _, d := range e.deliveries {
		ds := deliveryState{Delivery: *d, Stopped: d.stopped}
		ds.Attempts = append([]Attempt{}, d.Attempts...)
		s.Notifies = append(s.Notifies, ds)
	}
	for id, job := range e.bodies {
		s.Bodies[id] = job.body
	}
	for k, v := range e.nextSigner {
		s.NextSigner[k] = v
	}
	return s
}

// restore loads s into a new emulator (before it serves). Keys given in
// Options win over the saved ones.
func (e *Emulator) restore(s *state) error {
	if s.Version != stateVersion {
		return fmt.Errorf("emulator: state file version %d, want %d (delete it to start fresh)", s.Version, stateVersion)
	}
	if e.key == nil {
		k, err := parseKey(s.PlatformKey)
		if err != nil {
			return fmt.Errorf("emulator: state file: platform key: %w", err)
		}
		e.key = k
		if e.keyID == "" { // the id names the saved key only
			e.keyID = s.PublicKeyID
		}
	}
	for _, c := range s.Certificates {
		k, err := parseKey(c.Key)
		if err != nil {
			return fmt.Errorf("emulator: state file: certificate %s: %w", c.Serial, err)
		}
		e.certs = append(e.certs, &platformCert{serial: c.Serial, key: k, pem: []byte(c.PEM), effective: c.Effective, expire: c.Expire})
	}
	e.seq = s.Seq
	for _, st := range s.Transactions {
		o := st.order
		o.expiresAt, o.createdAt, o.successTime, o.refunded = st.ExpiresAt, st.CreatedAt, st.SuccessTime, st.Refunded
		e.orders[tradeKey{o.MchID, o.OutTradeNo}] = &o
		if o.TransactionID != "" {
			e.byTxID[o.TransactionID] = &o
		}
	}
	for _, rs := range s.Refunds {
		r := rs.refund
		r.createTime, r.successTime = rs.CreateTime, rs.SuccessTime
		e.refunds[tradeKey{r.MchID, r.OutRefundNo}] = &r
	}
	for no, f := range s.RefundFaults {
		e.refundFaults[no] = &f
	}
	for k, v := range s.NextSigner {
		e.nextSigner[k] = v
	}
	for _, ds := range s.Notifies {
		d := ds.Delivery
		e.deliveries = append(e.deliveries, &d)
		body, ok := s.Bodies[d.ID]
		if _, seen := e.bodies[d.ID]; ok && !seen {
			e.bodies[d.ID] = notifyJob{d: &d, body: body}
		}
		if ds.Stopped && ok {
			d.Done = false
			e.resume = append(e.resume, notifyJob{d: &d, body: body})
		}
	}
	return nil
}

// resumeDeliveries restarts the deliveries Close cut short, each at its
// next scheduled attempt (at once if that time has passed, but not before
// resumeDelay: the server that starts with the emulator needs time to listen).
func (e *Emulator) resumeDeliveries() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, job := range e.resume {
		wait, n := resumeDelay, len(job.d.Attempts)
		if n > 0 && n <= len(notifySchedule) {
			next := job.d.Attempts[n-1].At.Add(notifySchedule[n-1] / time.Duration(e.opts.RetryDivisor))
			wait = max(wait, next.Sub(e.now()))
		}
		e.wg.Add(1)
		go e.deliverFrom(job.d, job.body, n, wait)
	}
	e.resume = nil
}

const resumeDelay = 500 * time.Millisecond

// openState loads the state file, if any, and starts writing it on changes.
func (e *Emulator) openState() error {
	var s state
	found, err := snapshot.Load(e.opts.StateFile, &s)
	if err != nil {
		return err
	}
	if found {
		if err := e.restore(&s); err != nil {
			return err
		}
	}
	e.persist = snapshot.NewWriter(e.opts.StateFile, func() any {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.snapshotLocked()
	})
	return nil
}

// changed schedules a write of the state file (none without one).
func (e *Emulator) changed() { e.persist.Changed() }

func keyPEM(k *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKCS8PrivateKey(k) // an RSA key always marshals
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func parseKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS #8 key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
