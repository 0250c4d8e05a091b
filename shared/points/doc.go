// Package points implements loyalty points: one-time point codes that
// admins mint and users scan, a rewards catalog with stock, redemptions,
// and points credited for paid orders.
//
// Every change of a balance is one store.Write holding the condition that
// makes it happen once, the ledger entry and the balance counter's Add:
//
//   - scan: Check(code).IfVersion(read) + Put(used).IfAbsent + ledger entry + Add(balance, +points)
//   - redeem: Add(stock, -1).AtLeast(0) + Add(balance, -cost).AtLeast(0) + ledger entry (+ idempotency record)
//   - paid order: Put(credit#<transaction id>).IfAbsent + ledger entry + Add(balance, +points)
//   - refund of an order (RefundOps, inside the order's own Write that
//     records the refund's success): Put(credit#<transaction id>).IfVersion
//     with the refunded amount + ledger entry (reason refund, negative) +
//     Add(balance, −share)
//
// # Points follow refunds
//
// An order's credit P is taken back in proportion to its successful
// refunds, cumulatively: after refunds of R fen in all out of the total T,
// P·R/T rounded half up has been taken back (exactly P once all of T is
// refunded), each refund taking the difference, so rounding never drifts.
// The credit item keeps R. The balance may go negative (the user spent the
// points already): Redeem then answers ErrNegativeBalance until it is
// positive again. A refund that succeeds before the credit (the paid hook
// failed and is retried) takes nothing, and leaves the credit item pending
// with R: the credit then gives P − P·R/T. Nothing is taken back that was
// never credited, and nothing refunded is credited later.
//
// So the ledger is append-only and the balance always equals its sum: there
// is no write that changes one without the other.
//
// # Keys
//
//	points#code#<code>     / code            a point code: {"points","batch","created_at"}
//	points#code#<code>     / used            who used it and when (put-if-absent: once)
//	points#u#<openid>      / balance         N: the balance
//	points#u#<openid>      / ledger#<id>     a ledger entry (ids sort by time)
//	points#credit#<txid>   / credit          an order payment credited: {"openid","order_id","points","total","refunded","pending"?}
//	reward#catalog         / <id>            a reward: {"id","title","points",…}; N is its stock
//	idem#<openid>          / points-…        Idempotency-Key records (package idem)
//
// # Caveats
//
//   - A code is 16 characters of Crockford base32 (80 random bits): guessing
//     one is hopeless, but a leaked code is worth its points to whoever
//     scans it first.
//   - reward#catalog is one partition: fine for a catalog, and each reward's
//     stock is a counter on its own item.
package points
