package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"time"
)

func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v3/pay/transactions/jsapi", e.v3(e.prepay))
	mux.Handle("GET /v3/pay/transactions/out-trade-no/{no}", e.v3(e.queryByOutTradeNo))
	mux.Handle("GET /v3/pay/transactions/id/{id}", e.v3(e.queryByID))
	mux.Handle("POST /v3/pay/transactions/out-trade-no/{no}/close", e.v3(e.close))
	mux.Handle("POST /v3/refund/domestic/refunds", e.v3(e.createRefund))
	mux.Handle("GET /v3/refund/domestic/refunds/{no}", e.v3(e.queryRefund))
	mux.Handle("GET /v3/certificates", e.v3(e.listCertificates))
	mux.Handle("/v3/", e.v3(func(call) (int, any) {
		return 0, errorf(http.StatusNotFound, "NOT_FOUND", "emulator: no such WeChat Pay API")
	}))

	mux.HandleFunc("POST /_emulator/pay/{no}", e.controlPay)
	mux.HandleFunc("GET /_emulator/pay/pending", e.controlPending)
	mux.HandleFunc("POST /_emulator/pay/{no}/refund-fault", e.controlRefundFault)
	mux.HandleFunc("GET /_emulator/notifies", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"notifies": e.Notifies()})
	})
	mux.HandleFunc("POST /_emulator/notifies/{id}/resend", func(w http.ResponseWriter, r *http.Request) {
		controlResult(w, e.Resend(r.PathValue("id"), r.URL.Query().Get("mode")), nil)
	})
	mux.HandleFunc("POST /_emulator/certificates/rotate", func(w http.ResponseWriter, r *http.Request) {
		sn, err := e.RotateCertificate(nil)
		controlResult(w, err, map[string]string{"serial_no": sn})
	})
	mux.HandleFunc("GET /_emulator/certificates", func(w http.ResponseWriter, r *http.Request) {
		certs, err := e.Certificates()
		controlResult(w, err, map[string]any{"certificates": certs, "public_key_id": e.keyID})
	})
	mux.HandleFunc("POST /_emulator/notifies/sign-next", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ MchID, With string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&b); err != nil {
			controlResult(w, errors.New(`emulator: body must be {"mchid","with":"certificate"|"public_key"}`), nil)
			return
		}
		controlResult(w, e.SignNextNotify(b.MchID, b.With), nil)
	})
	mux.HandleFunc("POST /_emulator/refunds/{no}", func(w http.ResponseWriter, r *http.Request) {
		status := r.URL.Query().Get("status")
		if status == "" {
			status = "SUCCESS"
		}
		controlResult(w, e.CompleteRefund(r.PathValue("no"), status), nil)
	})
	return mux
}

func (e *Emulator) controlPay(w http.ResponseWriter, r *http.Request) {
	t, err := e.pay(r.URL.Query().Get("mchid"), r.PathValue("no"))
	controlResult(w, err, map[string]any{"transaction": t})
}

// Pending is an unpaid, unexpired transaction, as listed for the dev console.
type Pending struct {
	MchID       string    `json:"mchid"`
	AppID       string    `json:"appid"`
	OutTradeNo  string    `json:"out_trade_no"`
	Description string    `json:"description"`
	Total       int64     `json:"total"`
	OpenID      string    `json:"openid"`
	PrepayID    string    `json:"prepay_id"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// PendingTransactions lists unpaid, unexpired transactions, oldest first.
func (e *Emulator) PendingTransactions() []Pending {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	var out []Pending
	for _, o := range e.orders {
		if o.State == "NOTPAY" && !now.After(o.expiresAt) {
			out = append(out, Pending{MchID: o.MchID, AppID: o.AppID, OutTradeNo: o.OutTradeNo, Description: o.Description,
				Total: o.Total, OpenID: o.OpenID, PrepayID: o.PrepayID, CreatedAt: o.createdAt, ExpiresAt: o.expiresAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PrepayID < out[j].PrepayID })
	return out
}

func (e *Emulator) controlPending(w http.ResponseWriter, r *http.Request) {
	p := e.PendingTransactions()
	if p == nil {
		p = []Pending{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": p})
}

// controlResult answers a developer action: ok (or 204 when ok is nil), or
// the error as {"code","message"}.
func controlResult(w http.ResponseWriter, err error, ok any) {
	status, code := http.StatusOK, ""
	switch {
	case err == nil && ok == nil:
		w.WriteHeader(http.StatusNoContent)
		return
	case err == nil:
		writeJSON(w, status, ok)
		return
	case errors.Is(err, ErrNotFound):
		status, code = http.StatusNotFound, "NOT_FOUND"
	case errors.Is(err, ErrAmbiguous):
		status, code = http.StatusBadRequest, "AMBIGUOUS"
	case errors.Is(err, ErrClosed), errors.Is(err, ErrExpired):
		status, code = http.StatusConflict, "ORDER_CLOSED"
	case errors.Is(err, ErrAlreadyPaid):
		status, code = http.StatusConflict, "ORDERPAID"
	case errors.Is(err, ErrNotPending):
		status, code = http.StatusConflict, "NOT_PROCESSING"
	default:
		status, code = http.StatusBadRequest, "PARAM_ERROR"
	}
	writeJSON(w, status, map[string]string{"code": code, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
