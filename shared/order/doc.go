// Package order implements orders paid with WeChat Pay: creation with stock
// and coupon reserved in one store write, the state machine driven by users,
// WeChat Pay notifies, the expiry job and refunds, and the rules that keep
// money right when those race.
//
// # States
//
//	pending ──paid notify / query / close says ORDERPAID──▶ paid ──refund──▶ refunding ──REFUND.SUCCESS──▶ refunded
//	   │                                                      ▲                 │
//	   ├──user cancel (closed at WeChat Pay first)──▶ cancelled ─┐              └─partial success, CLOSED, ABNORMAL, refused──▶ paid
//	   └──expiry job / prepay failed (closed first)──▶ closed ───┴─payment arrives anyway──▶ refunding (automatic full refund)
//
// Every transition is one store.Write whose first op is the order Put
// conditioned on the version that was read (IfVersion); on a conflict the
// order is read again and the transition re-decided, so each transition
// happens once however many callers race, and repeating one is a no-op.
//
// Cancel and expiry close the transaction at WeChat Pay before touching the
// order. If WeChat Pay answers ORDERPAID, the order becomes paid instead.
// Once WeChat Pay has closed it, no payment can arrive, so releasing the
// stock and coupon is safe.
//
// A success notify for an order already cancelled or closed (a payment that
// WeChat Pay accepted before the close, or a close we never got to make) is
// refunded automatically and in full: the stock and coupon were released when
// the order ended and may already be someone else's, so reviving the order
// could oversell. The order moves to refunding with an "auto" refund and then
// to refunded on REFUND.SUCCESS. If that refund is refused, closed or goes
// abnormal, the order goes back to cancelled or closed (never paid, so the
// paid hook never runs for it), keeping paid_at and transaction_id, with
// Attention set for the merchant; SweepRefunds retries refused and closed
// ones (see there).
//
// Refunds: only a paid order is refunded, one refund at a time; the amount
// defaults to what is left. Partial refunds are allowed: after REFUND.SUCCESS
// the order is refunded when the whole total has been returned, else paid
// again (with "refunded" telling how much went back). A refund that WeChat
// Pay refuses, closes or marks abnormal puts a merchant's order back to paid. A refund
// does not return stock (the goods may have shipped: restocking is the
// merchant's call, through POST /products) and does not return the coupon
// (it was used).
//
// # Key layout
//
//	order#u#<openid>       / <id>      the order (JSON); the owner's list, newest first
//	order#trade#<id>       / trade     index: out_trade_no (= id) → owner, for notifies and admins
//	order#pending          / <id>      pending orders, oldest first, for the expiry job
//	order#all#<0-7>        / <id>      every order, in AllShards shards by a hash of the id (admin list)
//	order#queue#<store>    / <rank>-<paid ms>-<id>  a store's queue of paid table orders (queue.go)
//	order#store#<store>    / <id>      every order made in a store (admin list by store)
//	order#notify#<id>      / notify    a processed WeChat Pay notify id (kept 30 days)
//	order#refunding        / <id>      orders with a refund in flight, for the refund sweep
//	order#shipping         / <id>      orders whose shipping upload to WeChat is due (shipping.go)
//	order#exitpass#<code>  / pass      a scan-and-go exit pass → owner, id, expiry (exitpass.go)
//	product#catalog        / <sku>     the product; its counter N is the stock (package product)
//	idem#<openid>          / order-create#…  the Idempotency-Key record (package idem)
//	stats#<shard>          / <day>#paid_orders, revenue, refunds, refunded  daily counters (package stats), in the paid and refund-success Writes
//
// Ids are 12 hex digits of the creation time in milliseconds and 16 random
// hex digits, and serve as out_trade_no (28 characters of [0-9a-f], within
// WeChat Pay's 6–32 of [0-9A-Za-z_-|*]). Sorting ids sorts by creation time.
//
// # Caveats
//
//   - The pending collection is one partition: on DynamoDB it takes about
//     1,000 order creations and transitions per second.
//   - The all-orders index holds only the owner: the admin list (ListAll)
//     reads each order it shows, and filters by status while paging (at
//     most MaxScan entries per call, so a page may come back short with a
//     cursor). Orders created before the index existed are not listed.
//   - If the process dies between the create Write and the prepay, the order
//     stays pending without a prepay_id until the client retries with the same
//     Idempotency-Key (which prepays it) or the expiry job closes it.
package order
