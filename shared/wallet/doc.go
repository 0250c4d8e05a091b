// Package wallet implements stored value: a balance in fen per user, kept as
// two counters (principal, what the user paid; bonus, what top-up plans and
// the merchant gave), and a ledger whose entries carry a signed amount, so
// that the entries of a user sum to the balance. Money comes in by top-ups
// paid with WeChat Pay (credited with their plan's bonus on the payment's
// confirmation, exactly once) and by admin adjustments; it leaves by Spend
// (an order paid with the balance, once per order; Return gives it back) and
// by the refund of a top-up. SpendOps and ReturnOps give Spend's and
// Return's ops for the order's own Write (orders paid with the balance). docs/wallet.md states the rules and the
// compliance note (the merchant's single-purpose prepaid card filing).
//
// # Rules
//
//   - Spend takes principal first, then bonus; Return gives back in the
//     reverse order (bonus first, up to what the spend took of it), so that
//     spend(a) then return(b) leaves the counters as spend(a-b) would.
//   - The refund of a top-up returns min(top-up amount, principal balance)
//     in cash and removes min(top-up bonus, bonus balance); both are read
//     from the counters (the ledger's sums) at the moment of the refund.
//     Principal-first spending means a user cannot spend the bonus and
//     then take the whole principal back.
//   - A positive adjustment is bonus (never refundable in cash); a negative
//     one takes bonus first, then principal.
//   - Every debit is one Write conditioned on the versions of both counters
//     it read, with AtLeast(0) on each: no counter ever goes below zero, and
//     a debit that raced another is decided again on a fresh read.
//
// # Top-ups
//
//	pending ──paid (notify / query / close says ORDERPAID)──▶ paid ──refund──▶ refunding ──REFUND.SUCCESS──▶ refunded
//	   └──expiry job / prepay failed (closed at WeChat Pay first)──▶ closed      └─refused / CLOSED──▶ paid (money back)
//
// A top-up's out_trade_no is its id: "wt" and 28 hex digits (the creation
// time in milliseconds and random bits), 30 characters of WeChat Pay's
// [0-9A-Za-z_-|*]. Order ids are 28 lowercase hex digits, so the two never
// collide, and the one pay-notify function tells them apart by the prefix
// (IsTradeNo). The credit is one Write whose first op is the top-up's Put
// conditioned on the version read, in status pending: a notify delivered
// again, a query racing it, or a retry after a crash finds it paid and
// credits nothing.
//
// A payment confirmed for a closed top-up (the close raced it) is credited
// all the same: unlike an order, a top-up holds no stock, so crediting it is
// always right and refunding it is the merchant's call.
//
// # Key layout
//
//	wallet#u#<openid>      / principal, bonus   the counters (N); balance = principal + bonus
//	wallet#u#<openid>      / ledger#<id>        ledger entries, newest first by id
//	wallet#topups#<openid> / <no>               the user's top-ups (index; the value names nothing)
//	wallet#topup#<no>      / topup              the top-up (JSON with its owner)
//	wallet#pending         / <no>               pending top-ups, oldest first, for the expiry job
//	wallet#refunding       / <no>               top-ups with a refund in flight, for the sweep
//	wallet#plans           / <id>               top-up plans
//	wallet#spend#<order>   / spend              what an order took from the wallet, and what came back
//	idem#…                                      Idempotency-Key records (package idem)
//
// # Caveats
//
//   - wallet#pending is one partition: on DynamoDB about 1,000 top-up
//     creations and transitions per second.
//   - One user's debits are serialised by the counters' versions; a user
//     spending from many devices at once sees ErrBusy after MaxAttempts
//     lost races (never a wrong balance).
package wallet
