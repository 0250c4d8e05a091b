package dynamo

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/minifn/minifn/shared/store"
)

// mode is what a Write assumes about the item under an op whose result
// depends on it (see the package doc).
type mode uint8

const (
	liveOrAbsent mode = iota // the usual case; no extra request
	expired                  // DynamoDB reported an expired item still stored
)

// dependsOnExpiry reports whether op's result differs between an absent
// item and an expired one that is still stored, while its condition is the
// same for both. Only these ops are ever retried in the expired mode.
func dependsOnExpiry(op store.Op) bool {
	return op.Cond == store.Any && (op.Kind == store.OpPut || op.Kind == store.OpAdd)
}

type reqKind uint8

const (
	reqUpdate reqKind = iota
	reqDelete
	reqCheck
)

// request is one op compiled to DynamoDB expressions.
type request struct {
	index  int // the op's index in the Write
	kind   reqKind
	update string
	cond   string
	e      *expr
}

// compile turns op into a request under mode m at now (epoch seconds). It
// returns nil for a check that always holds.
func compile(index int, op store.Op, m mode, now int64) *request {
	e := newExpr(now)
	r := &request{index: index, e: e}
	switch op.Kind {
	case store.OpPut:
		r.update, r.cond = compilePut(e, op, m)
	case store.OpAdd:
		r.update, r.cond = compileAdd(e, op, m)
	case store.OpDelete:
		r.kind = reqDelete
		r.cond = condition(e, op)
	default:
		r.kind = reqCheck
		r.cond = compileCheck(e, op)
		if r.cond == "" {
			return nil
		}
	}
	return r
}

// condition is the condition expression of op.Cond alone.
func condition(e *expr, op store.Op) string {
	switch op.Cond {
	case store.IfAbsent:
		return e.absent()
	case store.IfExists:
		return e.live()
	case store.IfVersion:
		return and(e.live(), e.n(attrVer)+" = "+e.i(op.Version))
	}
	return ""
}

func compilePut(e *expr, op store.Op, m mode) (update, cond string) {
	it := op.Item
	switch {
	case op.Cond == store.IfAbsent:
		return replace(e, it.Value, it.N, e.i(1), it.ExpiresAt), condition(e, op)
	case op.Cond == store.IfVersion:
		return replace(e, it.Value, it.N, e.i(op.Version+1), it.ExpiresAt), condition(e, op)
	case op.Cond == store.IfExists:
		return replace(e, it.Value, it.N, e.n(attrVer)+" + "+e.i(1), it.ExpiresAt), condition(e, op)
	case m == expired:
		return replace(e, it.Value, it.N, e.i(1), it.ExpiresAt), e.expired()
	}
	ver := "if_not_exists(" + e.n(attrVer) + ", " + e.i(0) + ") + " + e.i(1)
	return replace(e, it.Value, it.N, ver, it.ExpiresAt), e.notExpired()
}

func compileAdd(e *expr, op store.Op, m mode) (update, cond string) {
	d, exp := op.Delta, op.Item.ExpiresAt
	fresh := "" // the new item's own bounds: it starts at 0
	if !within(d, op.Min, op.Max) {
		fresh = e.never()
	}
	switch {
	case op.Cond == store.IfAbsent:
		return replace(e, nil, d, e.i(1), exp), and(e.absent(), fresh)
	case op.Cond != store.Any:
		inc := set(e, e.n(attrN)+" = "+e.n(attrN)+" + "+e.i(d), e.n(attrVer)+" = "+e.n(attrVer)+" + "+e.i(1), exp)
		return inc, and(condition(e, op), e.bounds(op.Min, op.Max, d))
	case m == expired:
		return replace(e, nil, d, e.i(1), exp), and(e.expired(), fresh)
	}
	inc := set(e,
		e.n(attrN)+" = if_not_exists("+e.n(attrN)+", "+e.i(0)+") + "+e.i(d),
		e.n(attrVer)+" = if_not_exists("+e.n(attrVer)+", "+e.i(0)+") + "+e.i(1), exp)
	b := e.bounds(op.Min, op.Max, d)
	switch {
	case b == "":
		return inc, e.notExpired()
	case fresh == "":
		return inc, and(e.notExpired(), "(attribute_not_exists("+e.n(attrPK)+") OR "+b+")")
	}
	return inc, and(e.live(), b)
}

// compileCheck returns the condition of a check; "" when it always holds.
func compileCheck(e *expr, op store.Op) string {
	zeroOK := within(0, op.Min, op.Max) // an absent item's N counts as 0
	switch op.Cond {
	case store.IfAbsent:
		if zeroOK {
			return e.absent()
		}
		return and(e.absent(), e.never())
	case store.IfExists, store.IfVersion:
		return and(condition(e, op), e.bounds(op.Min, op.Max, 0))
	}
	b := e.bounds(op.Min, op.Max, 0)
	if b == "" || !zeroOK {
		return b
	}
	return "(" + e.absent() + " OR " + b + ")"
}

// replace is the update expression that leaves exactly this item at the key.
// It sets every attribute rather than removing the absent ones: minidyn
// v0.8.2 ignores a top-level REMOVE, and a SET is as cheap. An empty Value
// is stored as NULL, no expiry as neverTTL.
func replace(e *expr, val []byte, n int64, ver string, exp time.Time) string {
	ttl := int64(neverTTL)
	if !exp.IsZero() {
		ttl = epoch(exp)
	}
	return "SET " + strings.Join([]string{
		e.n(attrN) + " = " + e.i(n),
		e.n(attrVer) + " = " + ver,
		e.n(attrVal) + " = " + e.v(value(val)),
		e.n(attrTTL) + " = " + e.i(ttl),
	}, ", ")
}

// value is how a Value is stored: binary, or NULL when empty (minidyn
// v0.8.2 cannot evaluate an empty binary).
func value(b []byte) types.AttributeValue {
	if len(b) == 0 {
		return &types.AttributeValueMemberNULL{Value: true}
	}
	return &types.AttributeValueMemberB{Value: b}
}

// set is the update expression of an add: n and ver as given, and the
// expiry when the op sets one (an add without one keeps the item's).
func set(e *expr, n, ver string, exp time.Time) string {
	s := "SET " + n + ", " + ver
	if !exp.IsZero() {
		s += ", " + e.n(attrTTL) + " = " + e.i(epoch(exp))
	}
	return s
}
