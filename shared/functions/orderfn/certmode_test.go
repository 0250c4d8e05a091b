package orderfn_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"

	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/pay/emulator"
	"github.com/minifn/minifn/shared/store/storetest"
)

// Pay notifies through the real pay-notify handler with the merchant in
// certificate mode ("certificate") and switching ("both"): signed by a
// downloaded certificate, by a rotated one, by the public key; an unknown
// serial is refused with 401 and the order stays as it was.
func TestPayNotifyCertificateModes(t *testing.T) {
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"certificate", "both"} {
		for _, b := range storetest.Backends(t) {
			t.Run(mode+"/"+b.Name, func(t *testing.T) {
				e := orderfntest.New(t, b, ordertest.Options{PayMode: mode})
				e.Product(t, "tea", 1000, nil)
				pay := func(key string) map[string]any {
					o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, key)
					no := o["out_trade_no"].(string)
					if err := e.Emulator.Pay(context.Background(), no); err != nil {
						t.Fatal(err)
					}
					d := e.WaitNotify(t, no, "TRANSACTION.SUCCESS")
					if !d[0].Delivered {
						t.Fatalf("notify for %s not accepted: %+v", no, d)
					}
					if got := ordGet(t, e, "u1", o["id"].(string)); got["status"] != "paid" {
						t.Fatalf("order %s after its notify: %v", no, got["status"])
					}
					return o
				}

				// An unknown serial: 401, the order unchanged.
				o, _ := ordCreate(t, e, "u1", map[string]any{"items": []any{map[string]any{"sku": "tea", "quantity": 1}}}, "k0")
				_, body, err := e.Emulator.SignedNotify(ordertest.MchID, "TRANSACTION.SUCCESS",
					ordTransaction(ordertest.MchID, o["out_trade_no"].(string), 1000, e.Clock.Now()), e.Clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				ts := strconv.FormatInt(e.Clock.Now().Unix(), 10)
				sum := sha256.Sum256([]byte(ts + "\nN0NCE\n" + string(body) + "\n"))
				sig, _ := rsa.SignPKCS1v15(rand.Reader, forger, crypto.SHA256, sum[:])
				req, _ := http.NewRequest("POST", e.Server.URL+"/pay/notify", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Wechatpay-Timestamp", ts)
				req.Header.Set("Wechatpay-Nonce", "N0NCE")
				req.Header.Set("Wechatpay-Serial", "7E00000000000000000000000000000000000001")
				req.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("unknown serial: %d, want 401", resp.StatusCode)
				}
				if got := ordGet(t, e, "u1", o["id"].(string)); got["status"] != "pending" {
					t.Fatalf("order after a refused notify: %v", got["status"])
				}

				pay("k1") // a downloaded certificate
				if _, err := e.Emulator.RotateCertificate(nil); err != nil {
					t.Fatal(err)
				}
				e.Clock.Advance(61e9) // past the download rate limit
				pay("k2")             // the rotated certificate: one refresh, then accepted
				if mode == "both" {
					e.Emulator.SignNextNotify(ordertest.MchID, emulator.ModePublicKey)
					pay("k3") // the public key
				}
			})
		}
	}
}
