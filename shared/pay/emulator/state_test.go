package emulator_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/pay/emulator"
)

// TestStateFileSurvivesRestart stops an emulator with a state file and
// starts another on it: the unpaid transaction can be paid (its notify
// lands), the paid one answers its query, the platform key, its id and the
// certificates are the same, and a notify whose retries Close cut short
// resumes and is delivered, under its notify id.
func TestStateFileSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pay-emulator.json")
	withState := func(o *emulator.Options) {
		o.StateFile, o.Key, o.PublicKeyID, o.RetryDivisor = file, nil, "", 100 // retries 150 ms apart
		m := o.Merchants[mchID]
		m.Mode = emulator.ModeCertificate
		o.Merchants[mchID] = m
	}
	a := newEnv(t, withState)
	for _, no := range []string{"T20250001", "T20250002"} {
		if resp, body := a.send(t, "POST", "/v3/pay/transactions/jsapi", a.prepayBody(no, 100), a.k.merchant, time.Now(), nil); resp.StatusCode != 200 {
			t.Fatalf("prepay %s: %d %s", no, resp.StatusCode, body)
		}
	}
	pubA, idA := a.emu.PublicKey()
	certsA, err := a.emu.Certificates()
	if err != nil || len(certsA) != 1 {
		t.Fatalf("certificates: %v %v", certsA, err)
	}
	// T20250002 is paid; its notify is refused (500) until the restart.
	a.hook.mu.Lock()
	a.hook.fail = []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500}
	a.hook.mu.Unlock()
	if err := a.emu.Pay(context.Background(), "T20250002"); err != nil {
		t.Fatal(err)
	}
	first := <-a.hook.got
	for len(a.emu.Notifies()[0].Attempts) == 0 {
		time.Sleep(time.Millisecond)
	}
	a.emu.Close()
	before := a.emu.Notifies()[0]
	if before.Delivered || !before.Done || len(before.Attempts) == 0 || before.Attempts[0].Status != 500 {
		t.Fatalf("the notify before the restart: %+v", before)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	a.hook.mu.Lock()
	a.hook.fail = nil // the merchant's notify handler is fixed
	a.hook.mu.Unlock()

	b := newEnv(t, withState)
	pubB, idB := b.emu.PublicKey()
	certsB, _ := b.emu.Certificates()
	if !pubB.Equal(pubA) || idB != idA || len(certsB) != 1 || certsB[firstKey(certsA)] != certsA[firstKey(certsA)] {
		t.Fatalf("the platform key or certificates changed across the restart: %s/%s, %v", idA, idB, certsB)
	}
	// The cut-short notify resumes and lands, with the same notify id.
	var envA, envB map[string]any
	json.Unmarshal(first.body, &envA)
	select {
	case r := <-a.hook.got:
		json.Unmarshal(r.body, &envB)
	case <-time.After(10 * time.Second):
		t.Fatal("the notify cut short by the restart was not resumed")
	}
	ds := waitDone(t, b.emu, 1)
	if len(ds) != 1 || !ds[0].Delivered || len(ds[0].Attempts) != len(before.Attempts)+1 || envA["id"] != envB["id"] {
		t.Fatalf("after the restart: %+v (ids %v, %v)", ds, envA["id"], envB["id"])
	}
	// The paid transaction answers its query, signed with the kept certificate.
	resp, body := b.send(t, "GET", "/v3/pay/transactions/out-trade-no/T20250002?mchid="+mchID, "", b.k.merchant, time.Now(), nil)
	var tx struct {
		TradeState    string `json:"trade_state"`
		TransactionID string `json:"transaction_id"`
	}
	json.Unmarshal(body, &tx)
	if resp.StatusCode != 200 || tx.TradeState != "SUCCESS" || tx.TransactionID == "" {
		t.Fatalf("query after the restart: %d %s", resp.StatusCode, body)
	}
	if sn := resp.Header.Get("Wechatpay-Serial"); certsA[sn] == "" {
		t.Fatalf("answer signed with %q, not the kept certificate", sn)
	}
	verifyWith(t, certsA, resp.Header, body)
	// The unpaid one is paid now, and its notify lands.
	if err := b.emu.Pay(context.Background(), "T20250001"); err != nil {
		t.Fatalf("pay after the restart: %v", err)
	}
	r := <-a.hook.got
	if _, plain := open(t, r.body); plain["out_trade_no"] != "T20250001" || plain["trade_state"] != "SUCCESS" {
		t.Fatalf("notify: %v", plain)
	}
	// A new transaction does not reuse a prepay_id or transaction_id.
	resp, body = b.send(t, "POST", "/v3/pay/transactions/jsapi", b.prepayBody("T20250003", 1), b.k.merchant, time.Now(), nil)
	var pp struct {
		PrepayID string `json:"prepay_id"`
	}
	json.Unmarshal(body, &pp)
	for _, p := range b.emu.PendingTransactions() {
		if p.OutTradeNo != "T20250003" && p.PrepayID == pp.PrepayID {
			t.Fatalf("prepay_id %s reused after the restart", pp.PrepayID)
		}
	}
	if resp.StatusCode != 200 || pp.PrepayID == "" {
		t.Fatalf("prepay after the restart: %d %s", resp.StatusCode, body)
	}
}

// verifyWith checks an answer's signature with the key of the kept
// certificate that its Wechatpay-Serial names.
func verifyWith(t *testing.T, certs map[string]string, h http.Header, body []byte) {
	t.Helper()
	block, _ := pem.Decode([]byte(certs[h.Get("Wechatpay-Serial")]))
	if block == nil {
		t.Fatalf("no kept certificate %q", h.Get("Wechatpay-Serial"))
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	if err := rsa.VerifyPKCS1v15(c.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("the answer does not verify with the kept certificate: %v", err)
	}
}

// TestStateFileCorrupt: a damaged state file stops New with the file's
// name and how to start fresh, never its content (it holds private keys).
func TestStateFileCorrupt(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pay-emulator.json")
	os.WriteFile(file, []byte(`{"platform_private_key":"-----BEGIN PRIVATE KEY-----SECRETBYTES`), 0o600)
	k := loadKeys(t)
	_, err := emulator.New(emulator.Options{StateFile: file, Merchants: map[string]emulator.Merchant{mchID: {
		PublicKey: &k.merchant.PublicKey, CertSerial: serial, APIv3Key: apiV3Key}}})
	if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "delete it") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("New on a damaged state file: %v", err)
	}
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}
