package order

import (
	"github.com/minifn/minifn/shared/store"
)

// The key layout (see the package doc).
const (
	pendingPK = "order#pending"
)

// ownerKey is the order itself, in its owner's collection.
func ownerKey(owner, id string) store.Key { return store.Key{PK: "order#u#" + owner, SK: id} }

// ownerPK is the owner's collection, listed newest first.
func ownerPK(owner string) string { return "order#u#" + owner }

// tradeKey is the index from out_trade_no (equal to the id) to the owner.
func tradeKey(outTradeNo string) store.Key {
	return store.Key{PK: "order#trade#" + outTradeNo, SK: "trade"}
}

// pendingKey is the order's entry in the pending collection, which the
// expiry job reads oldest first.
func pendingKey(id string) store.Key { return store.Key{PK: pendingPK, SK: id} }

// notifyKey records a processed WeChat Pay notify id.
func notifyKey(notifyID string) store.Key {
	return store.Key{PK: "order#notify#" + notifyID, SK: "notify"}
}
