// Package emulator implements a WeChat Pay API v3 server for one or more
// direct merchants, following the official docs rather than minifn's client:
// signed requests are verified, every response is signed with the emulator's
// own "WeChat Pay public key" or, for a merchant in certificate mode
// (Merchant.Mode), with its newest platform certificate, and payments and refunds send signed,
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
//	GET  /v3/certificates                                 platform certificates, sealed with the APIv3 key
//	                                                      ({"data":[]} for a merchant in public-key mode)
//
// Developer controls, unsigned (the dev console uses them):
//
//	POST /_emulator/pay/{out_trade_no}[?mchid=]     "the user pays now": SUCCESS + TRANSACTION.SUCCESS notify
//	GET  /_emulator/pay/pending                     unpaid, unexpired transactions
//	GET  /_emulator/notifies                        notify deliveries and their attempts
//	POST /_emulator/notifies/{id}/resend[?mode=]    resend a notify: "" (a duplicate, with retries),
//	                                                "tampered" (bad signature) or "stale" (timestamp 10 minutes old), once
//	POST /_emulator/refunds/{out_refund_no}?status= finish a PROCESSING refund (with Options.ManualRefunds)
//	GET  /_emulator/certificates                    platform certificates (PEM by serial), public key id
//	POST /_emulator/certificates/rotate             a new certificate, listed beside the old (whose expire_time
//	                                                becomes a day away), signs from now on → {"serial_no"}
//	POST /_emulator/notifies/sign-next              {"mchid","with":"certificate"|"public_key"}: the next notify
//	                                                of that merchant is signed so, whatever its mode
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
//   - A time_expire under a minute away is raised to a minute (WeChat Pay's
//     behaviour), the merchant serial is compared in either case, and
//     SIGN_ERROR carries detail.sign_information (WECHAT-PROTOCOLS.md §1.6).
//   - Platform certificates are self-signed (no Tenpay CA chain) and shared by
//     all merchants of one emulator; the first is made on first need.
//   - State lives in memory unless Options.StateFile names a JSON file
//     (state.go): then a restart keeps transactions, refunds, notifies
//     (retries cut short by Close resume), the platform key and certificates.
//   - Not emulated: prepay_id's 2-hour validity, payment-code states
//     (USERPAYING, REVOKED, PAYERROR), promotions, partner (服务商) routes.
package emulator
