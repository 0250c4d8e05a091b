package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// refundRefusals are the refusals of the refund API a RefundFault may
// answer with: WeChat Pay's documented HTTP status and message for each code.
var refundRefusals = map[string]struct {
	status int
	msg    string
}{
	"NOT_ENOUGH":            {http.StatusForbidden, "基本账户余额不足，请充值后重新发起"},
	"USER_ACCOUNT_ABNORMAL": {http.StatusForbidden, "退款请求失败，用户账户异常"},
	"NO_AUTH":               {http.StatusForbidden, "没有退款权限"},
	"FREQUENCY_LIMITED":     {http.StatusTooManyRequests, "频率限制"},
	"SYSTEM_ERROR":          {http.StatusInternalServerError, "系统错误"},
}

// RefundFault makes the next refund requests of an out_trade_no go wrong,
// as WeChat Pay's do: either refused outright (Code: NOT_ENOUGH,
// USER_ACCOUNT_ABNORMAL, NO_AUTH → 403; FREQUENCY_LIMITED → 429;
// SYSTEM_ERROR → 500; nothing is recorded, so the same out_refund_no may be
// sent again), or accepted as PROCESSING and then ended with Status CLOSED
// or ABNORMAL, with the matching REFUND.* notify. Exactly one of Code and
// Status is set.
type RefundFault struct {
	Code   string `json:"code,omitempty"`
	Status string `json:"status,omitempty"`
	Count  int    `json:"count,omitempty"` // how many refund requests it hits; default 1
}

func (f *RefundFault) validate() error {
	if f.Count == 0 {
		f.Count = 1
	}
	switch {
	case f.Count < 1 || f.Count > 1000:
		return fmt.Errorf("emulator: count must be 1 to 1000")
	case (f.Code == "") == (f.Status == ""):
		return fmt.Errorf("emulator: set exactly one of code and status")
	case f.Status != "" && f.Status != "CLOSED" && f.Status != "ABNORMAL":
		return fmt.Errorf("emulator: status must be CLOSED or ABNORMAL")
	}
	if _, ok := refundRefusals[f.Code]; f.Code != "" && !ok {
		return fmt.Errorf("emulator: code must be NOT_ENOUGH, USER_ACCOUNT_ABNORMAL, NO_AUTH, FREQUENCY_LIMITED or SYSTEM_ERROR")
	}
	return nil
}

// FailRefunds arms f for the next refund requests of outTradeNo (of any
// merchant), replacing a fault armed before. Requests that repeat an
// out_refund_no WeChat Pay already took are answered as usual and do not
// count.
func (e *Emulator) FailRefunds(outTradeNo string, f RefundFault) error {
	defer e.changed() // the state file, if any
	if !outTradeNoRE.MatchString(outTradeNo) {
		return fmt.Errorf("emulator: %q is not an out_trade_no", outTradeNo)
	}
	if err := f.validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refundFaults[outTradeNo] = &f
	return nil
}

// takeRefundFault returns the fault armed for outTradeNo, counting this use;
// e.mu must be held.
func (e *Emulator) takeRefundFault(outTradeNo string) *RefundFault {
	f := e.refundFaults[outTradeNo]
	if f == nil {
		return nil
	}
	if f.Count--; f.Count <= 0 {
		delete(e.refundFaults, outTradeNo)
	}
	return f
}

// controlRefundFault serves POST /_emulator/pay/{no}/refund-fault.
func (e *Emulator) controlRefundFault(w http.ResponseWriter, r *http.Request) {
	var f RefundFault
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&f); err != nil {
		controlResult(w, fmt.Errorf("emulator: the body must be {\"code\"|\"status\",\"count\"?}: %w", err), nil)
		return
	}
	controlResult(w, e.FailRefunds(r.PathValue("no"), f), nil)
}
