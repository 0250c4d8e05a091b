// Package coupon implements coupon campaigns, the claim rush, a user's
// coupons, redemption at a store counter and the coupon side of orders.
//
// # The claim
//
// A claim is one store.Write: take one unit from a stock shard
// (Add(-1).AtLeast(0)), count the claim against the user's limit
// (Add(+1).AtMost(limit)), create the coupon and its redemption-code index
// (Put IfAbsent), add one to the day's claim counter (package stats: 64
// shards, so the rush does not meet on one item) and, when the client sent
// an Idempotency-Key, the idem record. Either all of it happens or none of it, so coupons issued plus
// stock remaining always equals the initial stock, whatever the
// concurrency, and however the process dies.
//
// Before writing, a claim reads: the campaign definition (cached in-process
// for CacheTTL), the chosen stock shard and the user's counter. A sold-out
// campaign or a user at the limit is refused without any write. A shard
// that has been seen at 0 is remembered as empty for the life of the
// Service: stock only ever goes down, so that knowledge never goes stale,
// and once every shard is known empty a claim is refused without touching
// the store at all.
//
// # Sharded stock
//
// One DynamoDB partition takes about 1,000 writes/s, so the stock of a
// campaign may be split over StockShards counters, each under its own PK. A
// claim picks a random shard not known to be empty; if its write fails on
// the stock condition, it marks that shard empty and tries another. The
// campaign is sold out when every shard is 0, and Remaining is the sum of
// the shards. The last units can sit in one shard while others are empty;
// claims then converge on it after at most StockShards failed attempts.
//
// # Key layout
//
//	campaign#all            / <campaignID>  campaign definition (JSON)
//	campaign#<id>#stock#<i> / stock         N = units left in shard i
//	coupon#<openid>         / coupon#<id>   the user's coupon (JSON); listed by Query
//	coupon#<openid>         / count#<campaignID>  N = coupons claimed from that campaign
//	code#<CODE>             / code          redemption code → (openid, coupon id)
//
// The staff role, which says who may redeem at a counter, is package
// outlet's (the "staff#" keys): the Service asks it through Options.Staff.
//
// # Caveats
//
//   - Expiry is computed on read: a usable coupon whose valid_until has
//     passed reads as expired; nothing needs to run on a timer. A locked
//     coupon stays locked past valid_until (the order was placed while it
//     was valid and may still be paid); if its order is released it reads as
//     expired.
//   - Campaign definitions are cached per process for CacheTTL (1 s by
//     default), so a pause or end made through another process takes up to
//     that long to be seen by claims. Stock and limits are never cached.
package coupon
