package emulator

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Delivery is one notify sent to a merchant, with every attempt.
type Delivery struct {
	ID          string    `json:"id"` // the notify id; a resend has the same one
	URL         string    `json:"url"`
	EventType   string    `json:"event_type"`
	MchID       string    `json:"mchid"`
	OutTradeNo  string    `json:"out_trade_no,omitempty"`
	OutRefundNo string    `json:"out_refund_no,omitempty"`
	Mode        string    `json:"mode,omitempty"` // "", "tampered" or "stale"
	SignedWith  string    `json:"signed_with"`    // ModePublicKey or ModeCertificate
	Attempts    []Attempt `json:"attempts"`
	Delivered   bool      `json:"delivered"` // answered 200 or 204
	Done        bool      `json:"done"`      // no more attempts will be made
	stopped     bool      // Close cut the attempts short (Done is set too)
}

// Attempt is one POST of a notify.
type Attempt struct {
	At     time.Time `json:"at"`
	Status int       `json:"status,omitempty"` // 0 when the request failed
	Error  string    `json:"error,omitempty"`
}

// notifyJob is what a delivery re-sends.
type notifyJob struct {
	d    *Delivery
	body []byte
}

var summaries = map[string]string{
	"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功", "REFUND.CLOSED": "退款关闭", "REFUND.ABNORMAL": "退款异常",
}

// SignedNotify builds a notify as WeChat Pay sends it, for tests and tools:
// resource is marshalled, encrypted with mchid's APIv3 key (AEAD_AES_256_GCM,
// a random 12-character nonce, associated_data "transaction" or "refund" after
// eventType), wrapped in the documented envelope, and signed at time at.
func (e *Emulator) SignedNotify(mchid, eventType string, resource any, at time.Time) (http.Header, []byte, error) {
	body, err := e.sealNotify(mchid, eventType, resource, at)
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	s := e.signerLocked(e.opts.Merchants[mchid], "")
	e.mu.Unlock()
	return e.notifyHeaders(body, at, s), body, nil
}

func (e *Emulator) sealNotify(mchid, eventType string, resource any, at time.Time) ([]byte, error) {
	m, ok := e.opts.Merchants[mchid]
	if !ok {
		return nil, fmt.Errorf("emulator: unknown merchant %s", mchid)
	}
	plain, err := json.Marshal(resource)
	if err != nil {
		return nil, fmt.Errorf("emulator: notify resource: %w", err)
	}
	block, err := aes.NewCipher([]byte(m.APIv3Key)) // 32 bytes, checked by New
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	kind := strings.ToLower(strings.SplitN(eventType, ".", 2)[0]) // transaction or refund
	nonce := randomString(aead.NonceSize())
	type res struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	}
	env := struct {
		ID           string `json:"id"`
		CreateTime   string `json:"create_time"`
		ResourceType string `json:"resource_type"`
		EventType    string `json:"event_type"`
		Summary      string `json:"summary"`
		Resource     res    `json:"resource"`
	}{
		ID: uuid(), CreateTime: fmtTime(at), ResourceType: "encrypt-resource", EventType: eventType,
		Summary: summaries[eventType],
		Resource: res{OriginalType: kind, Algorithm: "AEAD_AES_256_GCM", AssociatedData: kind, Nonce: nonce,
			Ciphertext: base64.StdEncoding.EncodeToString(aead.Seal(nil, []byte(nonce), plain, []byte(kind)))},
	}
	return json.Marshal(env)
}

func (e *Emulator) notifyHeaders(body []byte, at time.Time, s signer) http.Header {
	h := e.signedHeaders(body, at, s)
	h.Set("Wechatpay-Signature-Type", authScheme)
	h.Set("Content-Type", "application/json")
	h.Set("Request-ID", randomString(32))
	return h
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// enqueueLocked seals a notify and starts delivering it; e.mu must be held.
func (e *Emulator) enqueueLocked(mchid, url, eventType string, resource any, outTradeNo, outRefundNo string) {
	body, err := e.sealNotify(mchid, eventType, resource, e.now())
	d := &Delivery{URL: url, EventType: eventType, MchID: mchid, OutTradeNo: outTradeNo, OutRefundNo: outRefundNo,
		SignedWith: e.opts.Merchants[mchid].Mode}
	if m, ok := e.nextSigner[mchid]; ok {
		d.SignedWith = m
		delete(e.nextSigner, mchid)
	}
	if d.SignedWith == "" {
		d.SignedWith = ModePublicKey
	}
	e.deliveries = append(e.deliveries, d)
	if err != nil { // cannot happen for the emulator's own resources; recorded rather than lost
		d.Attempts, d.Done = []Attempt{{At: e.now(), Error: err.Error()}}, true
		return
	}
	var env struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &env)
	d.ID = env.ID
	e.bodies[d.ID] = notifyJob{d: d, body: body}
	e.startLocked(d, body)
}

func (e *Emulator) startLocked(d *Delivery, body []byte) {
	e.wg.Add(1)
	go e.deliverFrom(d, body, 0, 0)
}

// deliverFrom POSTs body to d.URL, retrying on anything but 200/204 after
// the scaled schedule, until delivered, out of retries, or Close. Tampered
// and stale resends are tried once. first is the number of attempts made
// before (a delivery resumed from the state file), wait the time to its
// next attempt.
func (e *Emulator) deliverFrom(d *Delivery, body []byte, first int, wait time.Duration) {
	defer e.wg.Done()
	if !e.sleep(wait) {
		e.stopDelivery(d)
		return
	}
	for i := first; ; i++ {
		status, err := e.post(d, body)
		if err != nil && e.ctx.Err() != nil {
			// Close cut the request short: not an attempt of WeChat Pay's.
			e.stopDelivery(d)
			return
		}
		e.mu.Lock()
		a := Attempt{At: e.now(), Status: status}
		if err != nil {
			a.Error = err.Error()
		}
		d.Attempts = append(d.Attempts, a)
		d.Delivered = status == http.StatusOK || status == http.StatusNoContent
		last := d.Delivered || d.Mode != "" || i >= len(notifySchedule)
		d.Done = last
		e.mu.Unlock()
		e.changed()
		if last {
			return
		}
		if !e.sleep(notifySchedule[i] / time.Duration(e.opts.RetryDivisor)) {
			e.stopDelivery(d)
			return
		}
	}
}

// sleep waits d, or returns false at Close.
func (e *Emulator) sleep(d time.Duration) bool {
	if d <= 0 {
		return e.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// stopDelivery records that Close stopped d's attempts: none is made in
// this run; the state file resumes them.
func (e *Emulator) stopDelivery(d *Delivery) {
	e.mu.Lock()
	d.Done, d.stopped = true, true
	e.mu.Unlock()
}

func (e *Emulator) post(d *Delivery, body []byte) (int, error) {
	at := e.now()
	if d.Mode == "stale" {
		at = at.Add(-10 * time.Minute)
	}
	// The key is picked at each attempt: a retry after a rotation carries
	// the new certificate's signature, as WeChat Pay's would.
	e.mu.Lock()
	s := e.signerLocked(Merchant{}, d.SignedWith)
	e.mu.Unlock()
	h := e.notifyHeaders(body, at, s)
	if d.Mode == "tampered" {
		// A valid signature of other bytes: only a real check notices.
		h.Set("Wechatpay-Signature", s.sign(h.Get("Wechatpay-Timestamp")+"\n"+h.Get("Wechatpay-Nonce")+"\n"+string(body)+" \n"))
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = h
	resp, err := e.opts.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// Notifies returns a copy of every delivery so far, oldest first.
func (e *Emulator) Notifies() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Delivery, len(e.deliveries))
	for i, d := range e.deliveries {
		out[i] = *d
		out[i].Attempts = append([]Attempt(nil), d.Attempts...)
	}
	return out
}

// Resend sends the notify id again as a new delivery: mode "" is a plain
// duplicate (same body, fresh signature, with retries), "tampered" carries a
// signature that does not match the body, "stale" is signed 10 minutes in the
// past; those two are tried once. Returns ErrNotFound for an unknown id.
func (e *Emulator) Resend(id, mode string) error {
	defer e.changed() // the state file, if any
	if mode != "" && mode != "tampered" && mode != "stale" {
		return fmt.Errorf("emulator: resend mode must be empty, tampered or stale")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	job, ok := e.bodies[id]
	if !ok {
		return ErrNotFound
	}
	d := *job.d
	d.Mode, d.Attempts, d.Delivered, d.Done, d.stopped = mode, nil, false, false, false
	e.deliveries = append(e.deliveries, &d)
	e.startLocked(&d, job.body)
	return nil
}
