package emulator_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"

	"github.com/minifn/minifn/shared/pay/emulator"
)

// rehost sends the SDK's requests (its host is fixed) to the emulator.
type rehost struct{ base *url.URL }

func (t rehost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

func certMode(o *emulator.Options) {
	m := o.Merchants[mchID]
	m.Mode = emulator.ModeCertificate
	o.Merchants[mchID] = m
}

// Calibration: the official SDK's own downloader fetches and decrypts the
// emulator's /v3/certificates (utils.DecryptAES256GCM, x509 parse), verifies
// a second download with what it got, and its verifier accepts the
// emulator's certificate-signed answers and notifies.
func TestCertificateModeAgainstTheOfficialSDK(t *testing.T) {
	e := newEnv(t, certMode)
	ctx := context.Background()
	base, _ := url.Parse(e.srv.URL)
	sdk, err := core.NewClient(ctx, option.WithMerchantCredential(mchID, serial, e.k.merchant),
		option.WithoutValidator(), option.WithHTTPClient(&http.Client{Transport: rehost{base}}))
	if err != nil {
		t.Fatal(err)
	}
	dl, err := downloader.NewCertificateDownloaderWithClient(ctx, sdk, apiV3Key)
	if err != nil {
		t.Fatalf("the SDK's downloader: %v", err)
	}
	certs, err := e.emu.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	got := dl.ExportAll(ctx)
	if len(got) != 1 || len(certs) != 1 {
		t.Fatalf("downloaded %d, listed %d", len(got), len(certs))
	}
	for sn, p := range certs {
		if got[sn] != p {
			t.Fatalf("certificate %s differs after the SDK's decryption", sn)
		}
	}
	// A second download is verified by the SDK with the certificate it holds.
	if err := dl.DownloadCertificates(ctx); err != nil {
		t.Fatalf("second download, verified: %v", err)
	}

	v := validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAVerifier(dl))
	resp, body := e.doRaw(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20241001", 5))
	if resp.StatusCode != 200 || resp.Header.Get("Wechatpay-Serial") != dl.GetNewestSerial(ctx) {
		t.Fatalf("prepay: %d serial %q %s", resp.StatusCode, resp.Header.Get("Wechatpay-Serial"), body)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.Validate(ctx, resp); err != nil {
		t.Fatalf("the SDK rejects a certificate-signed answer: %v", err)
	}

	// A notify, certificate-signed, through the SDK's notify handler.
	if err := e.emu.Pay(ctx, "T20241001"); err != nil {
		t.Fatal(err)
	}
	n := <-e.hook.got
	if n.header.Get("Wechatpay-Serial") != dl.GetNewestSerial(ctx) {
		t.Fatalf("notify serial %q", n.header.Get("Wechatpay-Serial"))
	}
	h, err := notify.NewRSANotifyHandler(apiV3Key, verifiers.NewSHA256WithRSAVerifier(dl))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "/pay/notify", bytes.NewReader(n.body))
	req.Header = n.header
	var tx map[string]any
	if _, err := h.ParseNotifyRequest(ctx, req, &tx); err != nil || tx["out_trade_no"] != "T20241001" {
		t.Fatalf("the SDK's notify handler: %v %v", err, tx)
	}
}

// doRaw is do without the public-key checks.
func (e *env) doRaw(t *testing.T, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	return e.doWith(t, method, path, body, nil)
}

func TestRotationAndSignerControls(t *testing.T) {
	e := newEnv(t, certMode)
	before, _ := e.emu.Certificates()
	rot, err := http.Post(e.srv.URL+"/_emulator/certificates/rotate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		SerialNo string `json:"serial_no"`
	}
	decodeResp(t, rot, &r)
	after, _ := e.emu.Certificates()
	if len(before) != 1 || len(after) != 2 || after[r.SerialNo] == "" {
		t.Fatalf("before %d, after %d, new %q", len(before), len(after), r.SerialNo)
	}
	resp, body := e.doRaw(t, "GET", "/v3/certificates", "")
	var list struct {
		Data []struct {
			SerialNo           string `json:"serial_no"`
			EffectiveTime      string `json:"effective_time"`
			ExpireTime         string `json:"expire_time"`
			EncryptCertificate struct {
				Algorithm, Nonce, Ciphertext string
				AssociatedData               string `json:"associated_data"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	decode(t, body, &list)
	if len(list.Data) != 2 || resp.Header.Get("Wechatpay-Serial") != r.SerialNo {
		t.Fatalf("list after rotation: serial %q %s", resp.Header.Get("Wechatpay-Serial"), body)
	}
	for _, d := range list.Data {
		if d.EncryptCertificate.AssociatedData != "certificate" || len(d.EncryptCertificate.Nonce) != 12 ||
			d.EncryptCertificate.Algorithm != "AEAD_AES_256_GCM" {
			t.Fatalf("item %+v", d)
		}
		exp, _ := time.Parse(time.RFC3339, d.ExpireTime)
		if d.SerialNo != r.SerialNo && exp.After(time.Now().Add(25*time.Hour)) {
			t.Fatalf("the old certificate's expire_time is %s, want within a day", d.ExpireTime)
		}
	}
	// A request saying it verifies with the public key gets a key-signed answer.
	resp, _ = e.doWith(t, "GET", "/v3/certificates", "", http.Header{"Wechatpay-Serial": {"PUB_KEY_ID_0000TEST"}})
	if resp.Header.Get("Wechatpay-Serial") != "PUB_KEY_ID_0000TEST" {
		t.Fatalf("answer to a public-key request signed by %q", resp.Header.Get("Wechatpay-Serial"))
	}

	// The next notify, signed with the public key although the merchant is in certificate mode.
	ctl, _ := http.Post(e.srv.URL+"/_emulator/notifies/sign-next", "application/json",
		strings.NewReader(`{"mchid":"`+mchID+`","with":"public_key"}`))
	if ctl.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-next: %d", ctl.StatusCode)
	}
	e.doRaw(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20241002", 5))
	e.doRaw(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20241003", 5))
	e.emu.Pay(context.Background(), "T20241002")
	e.nextNotify(t) // checks the public key's signature
	e.emu.Pay(context.Background(), "T20241003")
	if n := <-e.hook.got; n.header.Get("Wechatpay-Serial") != r.SerialNo {
		t.Fatalf("the notify after it: %q", n.header.Get("Wechatpay-Serial"))
	}
	bad, _ := http.Post(e.srv.URL+"/_emulator/notifies/sign-next", "application/json", strings.NewReader(`{"mchid":"`+mchID+`","with":"rot13"}`))
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad mode: %d", bad.StatusCode)
	}
}
