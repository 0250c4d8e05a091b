package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/minifn/minifn/shared/store"
)

// maxAttempts bounds the requests one Write makes: a retry follows either an
// expired item (at most one per op, and ops are few) or a transaction
// conflict on a hot item.
const maxAttempts = 8

// outcome is what one attempt of a Write leads to.
type outcome struct {
	err      error
	retry    bool // send again (modes may have changed)
	conflict bool // back off first: another transaction holds an item
	attrs    map[string]types.AttributeValue
}

// Write applies ops atomically (see the package doc for the requests made).
func (s *Store) Write(ctx context.Context, ops ...store.Op) error {
	if err := store.Validate(ops); err != nil {
		return err
	}
	_, err := s.write(ctx, ops, false)
	return err
}

// Add applies one OpAdd op and returns the counter's new value.
func (s *Store) Add(ctx context.Context, op store.Op) (int64, error) {
	if op.Kind != store.OpAdd {
		return 0, fmt.Errorf("%w: Add takes an add op", store.ErrInvalidOps)
	}
	if err := store.Validate([]store.Op{op}); err != nil {
		return 0, err
	}
	attrs, err := s.write(ctx, []store.Op{op}, true)
	if err != nil {
		return 0, err
	}
	return intAttr(attrs, attrN)
}

// write runs the attempts of a Write. With returnNew (one add op), it
// returns the item as written.
func (s *Store) write(ctx context.Context, ops []store.Op, returnNew bool) (map[string]types.AttributeValue, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	modes := make([]mode, len(ops))
	for attempt := 1; ; attempt++ {
		now := s.now()
		var reqs []*request
		for i, op := range ops {
			if r := compile(i, op, modes[i], epoch(now)); r != nil {
				reqs = append(reqs, r)
			}
		}
		var o outcome
		switch len(reqs) {
		case 0:
			return nil, nil
		case 1:
			o = s.single(ctx, reqs[0], ops, modes, now, returnNew)
		default:
			o = s.transact(ctx, reqs, ops, modes, now)
		}
		if !o.retry {
			return o.attrs, o.err
		}
		if attempt == maxAttempts {
			return nil, store.Unavailable(fmt.Errorf("store: dynamo: write gave up after %d attempts (contention on its items)", attempt))
		}
		if o.conflict {
			if err := backoff(ctx, attempt); err != nil {
				return nil, store.Unavailable(err)
			}
		}
	}
}

// backoff sleeps a random time that grows with the attempt, so that
// transactions that collided on a hot item spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(attempt) * int64(10*time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// single sends a one-op Write as a single-item request (one write unit per
// KB instead of a transaction's two).
func (s *Store) single(ctx context.Context, r *request, ops []store.Op, modes []mode, now time.Time, returnNew bool) outcome {
	op := ops[r.index]
	key := keyAttrs(op.Item.Key)
	var err error
	var attrs map[string]types.AttributeValue
	switch r.kind {
	case reqCheck:
		// No single-item API checks a condition; a consistent read and the
		// shared rule give the same answer.
		it, live, gerr := s.get(ctx, op.Item.Key, now)
		if gerr != nil {
			return outcome{err: gerr}
		}
		if !store.Holds(op, it, live) {
			return outcome{err: &store.ConditionError{Index: r.index}}
		}
		return outcome{}
	case reqDelete:
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                           aws.String(s.table),
			Key:                                 key,
			ConditionExpression:                 optional(r.cond),
			ExpressionAttributeNames:            r.e.attrNames(),
			ExpressionAttributeValues:           r.e.attrValues(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
	default:
		in := &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.table),
			Key:                                 key,
			UpdateExpression:                    aws.String(r.update),
			ConditionExpression:                 optional(r.cond),
			ExpressionAttributeNames:            r.e.attrNames(),
			ExpressionAttributeValues:           r.e.attrValues(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
		if returnNew {
			// ALL_NEW rather than UPDATED_NEW: emulators leave out attributes
			// whose value did not change (an add of 0).
			in.ReturnValues = types.ReturnValueAllNew
		}
		var out *dynamodb.UpdateItemOutput
		if out, err = s.db.UpdateItem(ctx, in); err == nil {
			attrs = out.Attributes
		}
	}
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return outcome{attrs: attrs}
	case errors.As(err, &ccf):
		if m, ok := s.reclassify(op, ccf.Item, now, modes[r.index]); ok {
			modes[r.index] = m
			return outcome{retry: true}
		}
		return outcome{err: &store.ConditionError{Index: r.index}}
	}
	return outcome{err: wrapErr("write", err)}
}

// transact sends a Write of several ops as one TransactWriteItems request.
func (s *Store) transact(ctx context.Context, reqs []*request, ops []store.Op, modes []mode, now time.Time) outcome {
	items := make([]types.TransactWriteItem, len(reqs))
	for j, r := range reqs {
		items[j] = s.transactItem(r, ops[r.index].Item.Key)
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if err == nil || !errors.As(err, &tce) {
		if err != nil {
			err = wrapErr("transact", err)
		}
		return outcome{err: err}
	}
	var o outcome
	for j, reason := range tce.CancellationReasons {
		if j >= len(reqs) {
			break
		}
		i := reqs[j].index
		switch code := aws.ToString(reason.Code); code {
		case "None", "":
		case "ConditionalCheckFailed":
			if m, ok := s.reclassify(ops[i], reason.Item, now, modes[i]); ok {
				modes[i] = m
				o.retry = true
				continue
			}
			if o.conflict {
				// An earlier op was not evaluated; its condition may fail too.
				return o
			}
			return outcome{err: &store.ConditionError{Index: i}}
		case "TransactionConflict":
			o.retry, o.conflict = true, true
		case "ValidationError":
			return outcome{err: fmt.Errorf("store: dynamo: transact: op %d: %s", i, aws.ToString(reason.Message))}
		default:
			return outcome{err: store.Unavailable(fmt.Errorf("store: dynamo: transact: op %d: %s", i, code))}
		}
	}
	if !o.retry {
		return outcome{err: wrapErr("transact", err)}
	}
	return o
}

func (s *Store) transactItem(r *request, k store.Key) types.TransactWriteItem {
	key := keyAttrs(k)
	table := aws.String(s.table)
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	switch r.kind {
	case reqCheck:
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: table, Key: key, ConditionExpression: aws.String(r.cond),
			ExpressionAttributeNames: r.e.attrNames(), ExpressionAttributeValues: r.e.attrValues(),
			ReturnValuesOnConditionCheckFailure: allOld,
		}}
	case reqDelete:
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: table, Key: key, ConditionExpression: optional(r.cond),
			ExpressionAttributeNames: r.e.attrNames(), ExpressionAttributeValues: r.e.attrValues(),
			ReturnValuesOnConditionCheckFailure: allOld,
		}}
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: table, Key: key, UpdateExpression: aws.String(r.update), ConditionExpression: optional(r.cond),
		ExpressionAttributeNames: r.e.attrNames(), ExpressionAttributeValues: r.e.attrValues(),
		ReturnValuesOnConditionCheckFailure: allOld,
	}}
}

// reclassify looks at the item a failed condition saw (old, from ALL_OLD).
// If op's condition in fact holds for it, the failure came from the mode
// (an expired item taken for live, or the other way round): it returns the
// mode to retry with. Otherwise the failure is real.
func (s *Store) reclassify(op store.Op, old map[string]types.AttributeValue, now time.Time, cur mode) (mode, bool) {
	if !dependsOnExpiry(op) {
		return cur, false
	}
	it, stored, err := decode(old)
	if err != nil {
		return cur, false
	}
	live := stored && store.Live(it.ExpiresAt, now)
	if !store.Holds(op, it, live) {
		return cur, false
	}
	if stored && !live {
		return expired, true
	}
	return liveOrAbsent, true
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
