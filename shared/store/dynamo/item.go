package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/minifn/minifn/shared/store"
)

func keyAttrs(k store.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// decode reads an item as stored. ok is false for an empty map (no item).
func decode(m map[string]types.AttributeValue) (it store.Item, ok bool, err error) {
	if len(m) == 0 {
		return store.Item{}, false, nil
	}
	pk, _ := m[attrPK].(*types.AttributeValueMemberS)
	sk, _ := m[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return store.Item{}, false, fmt.Errorf("store: dynamo: item without key attributes")
	}
	it.Key = store.Key{PK: pk.Value, SK: sk.Value}
	if v, ok := m[attrVal].(*types.AttributeValueMemberB); ok && len(v.Value) > 0 {
		it.Value = v.Value
	}
	if it.N, err = intAttr(m, attrN); err != nil {
		return it, false, err
	}
	if it.Version, err = intAttr(m, attrVer); err != nil {
		return it, false, err
	}
	ttl, err := intAttr(m, attrTTL)
	if err != nil {
		return it, false, err
	}
	if ttl != 0 && ttl < neverTTL {
		it.ExpiresAt = time.Unix(ttl, 0).UTC()
	}
	return it, true, nil
}

// intAttr reads a number attribute; a missing one is 0.
func intAttr(m map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := m[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: dynamo: attribute %s: %w", name, err)
	}
	return n, nil
}

// neverTTL is the ttl of an item that never expires, written where an
// update cannot remove the attribute (see replace): the year 31,690,708.
// DynamoDB's TTL never reaches it, every "ttl > now" condition holds for
// it, and it survives emulators that keep numbers as float64.
const neverTTL = 1_000_000_000_000_000

// epoch is how an expiry is stored: whole seconds, as DynamoDB's TTL wants.
// An item is live while now < ExpiresAt; with whole seconds that is exactly
// floor(now) < ttl, which is the comparison the condition expressions make.
func epoch(t time.Time) int64 { return t.Unix() }
