// Package pay implements minifn's WeChat Pay API v3 client for a direct
// merchant: JSAPI prepay and the wx.requestPayment parameters, order query and
// close, domestic refunds, and strict verification of the notifies WeChat Pay
// POSTs to the pay-notify function.
//
// Requests go through the official SDK (github.com/wechatpay-apiv3/wechatpay-go).
// Answers and notifies are verified with the key their Wechatpay-Serial
// names: the WeChat Pay public key (PUB_KEY_ID_…) when Config.PublicKey is
// set, else a platform certificate. Certificates are downloaded from
// /v3/certificates on first need, on an unknown serial (once a minute at
// most, fleet-wide) and when the cache is old, verified, and cached in
// Config.Store for every instance (certs.go). New touches no network.
//
// # Errors
//
// Every method returns *apperr.Error values:
//   - network failures, timeouts, 5xx, 429 and responses whose signature does
//     not verify: ErrUnavailable (Upstream, pay_unavailable, 502);
//   - business answers that callers branch on: ErrOrderPaid, ErrOrderClosed,
//     ErrOrderNotFound, ErrOutTradeNoUsed, ErrRefundNotFound;
//   - any other refusal (PARAM_ERROR, NOT_ENOUGH, …): ErrRejected.
//
// The WeChat Pay code and message travel as the cause, an *APIError, for logs
// and errors.As. Keys never appear in errors or logs.
//
// # Caveats
//
//   - BaseURL may point at the emulator (http:// loopback is fine) but must have
//     no path: the SDK signs "/v3/…" before the host is rewritten.
//   - A notify body must be passed to ParseNotify exactly as received (decode
//     base64 API-gateway bodies first): the signature covers the raw bytes.
//   - LoadPrivateKey and LoadPublicKey check a key completely but cheaply
//     (key.go: DER read by hand, the private key's consistency checked with
//     math/big), so that a bad key fails the function's start with one line;
//     the private key is precomputed for crypto/rsa on the first signature.
//   - Verification uses the injected clock, also for API responses, so a test
//     clock and the emulator agree; the SDK's own validator would use time.Now.
package pay
