package pay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Notify is a verified, decrypted WeChat Pay notify.
type Notify struct {
	ID         string // the notify id; retries of one event share it
	EventType  string // TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
	CreateTime string // RFC 3339, as sent
	Summary    string
	// Exactly one of Transaction and Refund is set for TRANSACTION.* and
	// REFUND.* events; for other event types both are nil and Plaintext holds
	// the decrypted resource.
	Transaction *Transaction
	Refund      *RefundResult
	Plaintext   []byte
}

// RefundResult is the resource of a REFUND.* notify. Amounts are fen.
type RefundResult struct {
	MchID               string
	OutTradeNo          string
	TransactionID       string
	OutRefundNo         string
	RefundID            string
	Status              string // refund_status: SUCCESS, CLOSED or ABNORMAL
	SuccessTime         time.Time
	UserReceivedAccount string
	Amount              RefundAmount
}

type notifyBody struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Summary      string `json:"summary"`
	Resource     *struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	} `json:"resource"`
}

// wireTransaction is the documented transaction resource.
type wireTransaction struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	OutTradeNo     string `json:"out_trade_no"`
	TransactionID  string `json:"transaction_id"`
	TradeType      string `json:"trade_type"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc"`
	BankType       string `json:"bank_type"`
	Attach         string `json:"attach"`
	SuccessTime    string `json:"success_time"`
	Payer          struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	Amount struct {
		Total         int64  `json:"total"`
		PayerTotal    int64  `json:"payer_total"`
		Currency      string `json:"currency"`
		PayerCurrency string `json:"payer_currency"`
	} `json:"amount"`
}

// wireRefund is the documented refund resource.
type wireRefund struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// ParseNotify verifies and decrypts a notify. body must be the exact bytes
// received. In order it checks: the signature headers are present, the
// serial is the configured public key id (ErrUnknownSerial), the timestamp is
// within 5 minutes of the clock (ErrStaleNotify), the SHA256withRSA signature
// over "timestamp\nnonce\nbody\n" (ErrInvalidSignature); then the envelope
// (ErrInvalidNotify), AEAD_AES_256_GCM decryption with the APIv3 key
// (ErrUndecryptable), and that the resource is for this merchant and appid
// (ErrInvalidNotify). It does not dedupe: retries carry the same ID, and the
// caller records the outcome under a lock or conditional write.
func (c *Client) ParseNotify(header http.Header, body []byte) (Notify, error) {
	ctx, cancel := context.WithTimeout(context.Background(), notifyFetchTimeout)
	defer cancel()
	if err := c.verify(ctx, header, body); err != nil {
		return Notify{}, err
	}
	var nb notifyBody
	if err := json.Unmarshal(body, &nb); err != nil {
		return Notify{}, ErrInvalidNotify.WithMessage("the notify body is not JSON")
	}
	r := nb.Resource
	switch {
	case nb.ID == "" || nb.EventType == "":
		return Notify{}, ErrInvalidNotify.WithMessage("id and event_type are required")
	case nb.ResourceType != "encrypt-resource" || r == nil:
		return Notify{}, ErrInvalidNotify.WithMessage("resource_type must be encrypt-resource")
	case r.Algorithm != "AEAD_AES_256_GCM":
		return Notify{}, ErrInvalidNotify.WithMessage("unsupported algorithm %q", r.Algorithm)
	case len(r.Nonce) != c.aead().NonceSize():
		return Notify{}, ErrInvalidNotify.WithMessage("resource nonce must be %d bytes", c.aead().NonceSize())
	}
	sealed, err := base64.StdEncoding.DecodeString(r.Ciphertext)
	if err != nil {
		return Notify{}, ErrInvalidNotify.WithMessage("resource ciphertext is not base64")
	}
	plain, err := c.aead().Open(nil, []byte(r.Nonce), sealed, []byte(r.AssociatedData))
	if err != nil {
		return Notify{}, ErrUndecryptable
	}
	n := Notify{ID: nb.ID, EventType: nb.EventType, CreateTime: nb.CreateTime, Summary: nb.Summary, Plaintext: plain}
	switch {
	case strings.HasPrefix(nb.EventType, "TRANSACTION."):
		t, err := c.decodeTransaction(r.OriginalType, plain)
		if err != nil {
			return Notify{}, err
		}
		n.Transaction = &t
	case strings.HasPrefix(nb.EventType, "REFUND."):
		rr, err := c.decodeRefund(r.OriginalType, plain)
		if err != nil {
			return Notify{}, err
		}
		n.Refund = &rr
	}
	return n, nil
}

func (c *Client) decodeTransaction(originalType string, plain []byte) (Transaction, error) {
	var w wireTransaction
	if originalType != "transaction" || json.Unmarshal(plain, &w) != nil || w.OutTradeNo == "" {
		return Transaction{}, ErrInvalidNotify.WithMessage("the resource is not a transaction")
	}
	if w.MchID != c.cfg.MchID || w.AppID != c.cfg.AppID {
		return Transaction{}, ErrInvalidNotify.WithMessage("the transaction is for another merchant or appid")
	}
	return Transaction{
		AppID: w.AppID, MchID: w.MchID, OutTradeNo: w.OutTradeNo, TransactionID: w.TransactionID,
		TradeType: w.TradeType, TradeState: w.TradeState, TradeStateDesc: w.TradeStateDesc,
		BankType: w.BankType, Attach: w.Attach, SuccessTime: parseTime(w.SuccessTime), PayerOpenID: w.Payer.OpenID,
		Amount: Amount{Total: w.Amount.Total, PayerTotal: w.Amount.PayerTotal,
			Currency: w.Amount.Currency, PayerCurrency: w.Amount.PayerCurrency},
	}, nil
}

func (c *Client) decodeRefund(originalType string, plain []byte) (RefundResult, error) {
	var w wireRefund
	if originalType != "refund" || json.Unmarshal(plain, &w) != nil || w.OutRefundNo == "" {
		return RefundResult{}, ErrInvalidNotify.WithMessage("the resource is not a refund")
	}
	if w.MchID != c.cfg.MchID {
		return RefundResult{}, ErrInvalidNotify.WithMessage("the refund is for another merchant")
	}
	return RefundResult{
		MchID: w.MchID, OutTradeNo: w.OutTradeNo, TransactionID: w.TransactionID, OutRefundNo: w.OutRefundNo,
		RefundID: w.RefundID, Status: w.RefundStatus, SuccessTime: parseTime(w.SuccessTime),
		UserReceivedAccount: w.UserReceivedAccount,
		Amount: RefundAmount{Total: w.Amount.Total, Refund: w.Amount.Refund,
			PayerTotal: w.Amount.PayerTotal, PayerRefund: w.Amount.PayerRefund},
	}, nil
}
