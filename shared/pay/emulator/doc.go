// Package emulator implements a WeChat Pay API v3 server for one or more
// direct merchants, following the official docs rather than minifn's client:
// signed requests are verified, every response is signed with the emulator's
// own "WeChat Pay public key", and payments and refunds send signed,
// AES-256-GCM-encrypted notifies that are retried like WeChat Pay's.
//
// # Routes (Handler)
//
//	POST /v3/pay/transactions/jsapi                       JSAPI prepay → {"prepay_id"}
//	GET  /v3/pay/transactions/out-trade-no/{no}?mchid=    query by out_trade_no
//	GET  /v3/pay/transactions/id/{transaction_id}?mchid=  query by transaction_id
//	POST /v3/pay/transactions/out-trade-no/{no}/close     {"mchid"} → 204; 400 ORDERPAID once paid
//	POST /v3/refund/domestic/refunds                      refund → PROCESSING, then REFUND.SUCCESS notify
//	GET  /v3/refund/domestic/refunds/{out_refund_no}      refund query
//
// Developer controls, unsigned (the dev console uses them):
//
//	POST /_emulator/pay/{out_trade_no}[?mchid=]     "the user pays now": SUCCESS + TRANSACTION.SUCCESS notify
//	GET  /_emulator/pay/pending                     unpaid, unexpired transactions
//	GET  /_emulator/notifies                        notify deliveries and their attempts
//	POST /_emulator/notifies/{id}/resend[?mode=]    resend a notify: "" (a duplicate, with retries),
//	                                                "tampered" (bad signature) or "stale" (timestamp 10 minutes old), once
//	POST /_emulator/refunds/{out_refund_no}?status= finish a PROCESSING refund (with Options.ManualRefunds)
//	POST /_emulator/pay/{out_trade_no}/refund-fault  {"code":"NOT_ENOUGH"} or {"status":"CLOSED"|"ABNORMAL"}, "count"?:
//	                                                the next refund requests of that order are refused as WeChat
//	                                                Pay does (NOT_ENOUGH, USER_ACCOUNT_ABNORMAL, NO_AUTH → 403,
//	                                                FREQUENCY_LIMITED → 429, SYSTEM_ERROR → 500; nothing is
//	                                                recorded) or accepted and ended CLOSED/ABNORMAL with the
//	                                                REFUND.* notify (RefundFault, FailRefunds)
//
// Errors answer as WeChat Pay does: a status and {"code","message"[,"detail"]}.
//
// # Caveats
//
//   - notify_url must be HTTPS, as documented, except that http:// URLs on a
//     loopback host (127.0.0.1, ::1, localhost) are accepted, so that a dev
//     server and httptest servers can receive notifies.
//   - Retries follow the documented 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h
//     schedule divided by Options.RetryDivisor (default 1000: 15 ms, 15 ms, 30 ms, …).
//     Only 200 and 204 count as delivered.
//   - Mount Handler at the root: request signatures cover the path as sent.
//   - Lengths documented as string(n) are checked in bytes.
//   - Not emulated: prepay_id's 2-hour validity, payment-code states
//     (USERPAYING, REVOKED, PAYERROR), promotions, partner (服务商) routes.
package emulator
