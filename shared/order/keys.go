package order

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/minifn/minifn/shared/store"
)

// The key layout (see the package doc).
const (
	pendingPK   = "order#pending"
	refundingPK = "order#refunding"
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

// refundingKey is the order's entry in the refunding collection, which the
// refund sweep reads: an order is in it while a refund is in flight.
func refundingKey(id string) store.Key { return store.Key{PK: refundingPK, SK: id} }

// refundingOp puts the order's refunding entry (its value names the owner).
func refundingOp(r *record) store.Op {
	ix, _ := json.Marshal(tradeIndex{Owner: r.Owner, ID: r.ID})
	return store.Put(store.Item{Key: refundingKey(r.ID), Value: ix})
}

// (order#shipping, the orders whose shipping upload is due: shipping.go.)

// notifyPrefix starts the key of every processed-notify record.
const notifyPrefix = "order#notify#"

// notifyKey records a processed WeChat Pay notify id.
func notifyKey(notifyID string) store.Key {
	return store.Key{PK: notifyPrefix + notifyID, SK: "notify"}
}

// isNotifyKey reports whether k is a processed-notify record.
func isNotifyKey(k store.Key) bool { return strings.HasPrefix(k.PK, notifyPrefix) }

// AllShards is how many collections the all-orders index is spread over:
// one PK is one DynamoDB partition (about 1,000 writes/s), and every order
// creation writes one entry.
const AllShards = 8

// storePK is the index of the orders made in one physical store (admin
// list by store); storeKey an order's entry in it.
func storePK(storeID string) string { return "order#store#" + storeID }

func storeKey(storeID, id string) store.Key { return store.Key{PK: storePK(storeID), SK: id} }

// allPK is one shard of the all-orders index.
func allPK(shard int) string { return fmt.Sprintf("order#all#%d", shard) }

// allKey is the order's entry in the all-orders index. The shard is a hash
// of the whole id, whose last 16 hex digits are random, so creations spread
// evenly over the shards.
func allKey(id string) store.Key {
	h := fnv.New32a()
	h.Write([]byte(id))
	return store.Key{PK: allPK(int(h.Sum32() % AllShards)), SK: id}
}
