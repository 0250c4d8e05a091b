package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/minifn/minifn/shared/store"
)

// Get returns the live item at k with a strongly consistent read.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Item, error) {
	it, live, err := s.get(ctx, k, s.now())
	if err != nil {
		return store.Item{}, err
	}
	if !live {
		return store.Item{}, store.ErrNotFound
	}
	return it, nil
}

// get reads the item at k and reports whether it is live at now.
func (s *Store) get(ctx context.Context, k store.Key, now time.Time) (store.Item, bool, error) {
	if err := s.checkOpen(); err != nil {
		return store.Item{}, false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyAttrs(k),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Item{}, false, wrapErr("get", err)
	}
	it, stored, err := decode(out.Item)
	if err != nil || !stored {
		return store.Item{}, false, err
	}
	return it, store.Live(it.ExpiresAt, now), nil
}

// Query returns live items of collection pk in SK order.
//
// The cursor (q.After) is turned into a key condition (sk > after) rather
// than an ExclusiveStartKey, so it works even when the item it names has
// since been deleted. A key condition allows one comparison on sk, so with
// both a prefix and a cursor the prefix is checked here: the items that
// share it are contiguous in SK order, so the first item without it ends the
// page. Expired items are skipped here too (a filter expression would save
// no read units).
func (s *Store) Query(ctx context.Context, pk string, q store.Query) ([]store.Item, string, error) {
	if err := s.checkOpen(); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	now := s.now()
	after := q.After
	var items []store.Item
	for {
		// One item past the page says whether there is a next one.
		want := limit + 1 - len(items)
		out, err := s.db.Query(ctx, s.queryInput(pk, q.Prefix, after, q.Desc, want))
		if err != nil {
			return nil, "", wrapErr("query", err)
		}
		for _, m := range out.Items {
			it, stored, err := decode(m)
			if err != nil {
				return nil, "", err
			}
			if !stored {
				continue
			}
			after = it.SK
			if !strings.HasPrefix(it.SK, q.Prefix) {
				return page(items, limit)
			}
			if store.Live(it.ExpiresAt, now) {
				items = append(items, it)
				if len(items) > limit {
					return page(items, limit)
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 || len(out.Items) == 0 {
			return page(items, limit)
		}
	}
}

// page cuts items to limit and returns the cursor of the next page.
func page(items []store.Item, limit int) ([]store.Item, string, error) {
	if len(items) <= limit {
		return items, "", nil
	}
	return items[:limit], items[limit-1].SK, nil
}

// queryInput asks for up to n items of pk after the cursor. Without a
// cursor, or with one that the prefix range lies wholly beyond, the key
// condition is begins_with; otherwise it is the cursor comparison.
func (s *Store) queryInput(pk, prefix, after string, desc bool, n int) *dynamodb.QueryInput {
	e := newExpr(0)
	cond := e.n(attrPK) + " = " + e.v(&types.AttributeValueMemberS{Value: pk})
	beyond := after == "" || (!desc && after < prefix) ||
		(desc && after > prefix && !strings.HasPrefix(after, prefix))
	switch {
	case beyond && prefix != "":
		cond += " AND begins_with(" + e.n(attrSK) + ", " + e.v(&types.AttributeValueMemberS{Value: prefix}) + ")"
	case beyond:
	case desc:
		cond += " AND " + e.n(attrSK) + " < " + e.v(&types.AttributeValueMemberS{Value: after})
	default:
		cond += " AND " + e.n(attrSK) + " > " + e.v(&types.AttributeValueMemberS{Value: after})
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  e.attrNames(),
		ExpressionAttributeValues: e.attrValues(),
		ScanIndexForward:          aws.Bool(!desc),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(n)),
	}
}
