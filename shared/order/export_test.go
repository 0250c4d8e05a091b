package order

// AllKey is the all-orders index key of an order id, for tests that write
// index entries directly.
var AllKey = allKey
