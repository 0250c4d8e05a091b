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
//	points#credit#<txid>   / credit          an order payment already credited
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
