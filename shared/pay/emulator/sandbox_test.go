package emulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/pay/emulator"
)

// What a client written elsewhere ran into: WeChat Pay's answers, not our
// client's habits (WECHAT-PROTOCOLS.md §1.6).

// A time_expire under a minute away is raised to a minute, not refused.
func TestTimeExpireUnderAMinuteIsRaised(t *testing.T) {
	e := newEnv(t)
	body := strings.Replace(e.prepayBody("T20240901", 1), `"attach"`,
		`"time_expire":"`+time.Now().Add(20*time.Second).Format(time.RFC3339)+`","attach"`, 1)
	resp, out := e.do(t, "POST", "/v3/pay/transactions/jsapi", body, e.k.merchant, time.Now())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("prepay with time_expire in 20 s: %d %s", resp.StatusCode, out)
	}
	e.now.Advance(40 * time.Second) // past the time_expire sent, within the minute
	if err := e.emu.Pay(t.Context(), "T20240901"); err != nil {
		t.Fatalf("paying 40 s later (time_expire raised to a minute): %v", err)
	}
	body = strings.Replace(e.prepayBody("T20240902", 1), `"attach"`,
		`"time_expire":"`+time.Now().Add(20*time.Second).Format(time.RFC3339)+`","attach"`, 1)
	e.do(t, "POST", "/v3/pay/transactions/jsapi", body, e.k.merchant, e.now.Now())
	e.now.Advance(61 * time.Second)
	if err := e.emu.Pay(t.Context(), "T20240902"); err == nil {
		t.Fatal("paid more than a minute after prepay with a 20 s time_expire")
	}
}

// SIGN_ERROR carries detail.sign_information: the message as the server built it.
func TestSignErrorCarriesSignInformation(t *testing.T) {
	e := newEnv(t)
	path := "/v3/pay/transactions/out-trade-no/T20240903?mchid=" + mchID
	resp, out := e.do(t, "GET", path, "", e.k.other, time.Now())
	wantError(t, resp, out, http.StatusUnauthorized, "SIGN_ERROR")
	var got struct {
		Detail struct {
			Detail   struct{ Issue string } `json:"detail"`
			Field    string                 `json:"field"`
			Location string                 `json:"location"`
			Sign     *struct {
				Method    string `json:"method"`
				URL       string `json:"url"`
				Length    int    `json:"sign_message_length"`
				Truncated string `json:"truncated_sign_message"`
			} `json:"sign_information"`
		} `json:"detail"`
	}
	decode(t, out, &got)
	d := got.Detail
	if d.Field != "signature" || d.Location != "authorization" || d.Detail.Issue != "sign not match" || d.Sign == nil {
		t.Fatalf("detail: %s", out)
	}
	if d.Sign.Method != "GET" || d.Sign.URL != path ||
		!strings.HasPrefix(d.Sign.Truncated, "GET\n"+path+"\n") || !strings.HasSuffix(d.Sign.Truncated, "\n\n") ||
		d.Sign.Length != len(d.Sign.Truncated) {
		t.Fatalf("sign_information: %+v", *d.Sign)
	}
}

// The merchant serial is hex: either case is accepted.
func TestMerchantSerialEitherCase(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) {
		m := o.Merchants[mchID]
		m.CertSerial = strings.ToLower(serial) // configured lower, sent upper by do
		o.Merchants[mchID] = m
	})
	resp, out := e.do(t, "POST", "/v3/pay/transactions/jsapi", e.prepayBody("T20240904", 1), e.k.merchant, time.Now())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("serial in the other case: %d %s", resp.StatusCode, out)
	}
	var p map[string]string
	json.Unmarshal(out, &p)
	if p["prepay_id"] == "" {
		t.Fatalf("%s", out)
	}
}
