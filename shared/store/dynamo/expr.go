package dynamo

import (
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// expr collects the placeholders of one request's expressions. DynamoDB
// rejects unused placeholders, so names and values are registered only as
// the expressions use them.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
	now    int64
}

func newExpr(now int64) *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}, now: now}
}

// n returns the placeholder of attribute name a ("ttl" and "value" are
// reserved words, so every name goes through a placeholder).
func (e *expr) n(a string) string {
	e.names["#"+a] = a
	return "#" + a
}

// v returns a placeholder for the value.
func (e *expr) v(val types.AttributeValue) string {
	p := ":v" + strconv.Itoa(len(e.values))
	e.values[p] = val
	return p
}

// i returns a placeholder for an integer.
func (e *expr) i(n int64) string { return e.v(num(n)) }

// clock returns the placeholder of now in epoch seconds.
func (e *expr) clock() string {
	e.values[":now"] = num(e.now)
	return ":now"
}

func (e *expr) attrNames() map[string]string {
	if len(e.names) == 0 {
		return nil
	}
	return e.names
}

func (e *expr) attrValues() map[string]types.AttributeValue {
	if len(e.values) == 0 {
		return nil
	}
	return e.values
}

// never is a condition no item satisfies.
func (e *expr) never() string {
	return "(attribute_exists(" + e.n(attrPK) + ") AND attribute_not_exists(" + e.n(attrPK) + "))"
}

// notExpired holds for a live item and for no item.
func (e *expr) notExpired() string {
	return "(attribute_not_exists(" + e.n(attrTTL) + ") OR " + e.n(attrTTL) + " > " + e.clock() + ")"
}

// expired holds for an item that has expired but is still stored.
func (e *expr) expired() string { return e.n(attrTTL) + " <= " + e.clock() }

// live holds for a live item.
func (e *expr) live() string {
	return "(attribute_exists(" + e.n(attrPK) + ") AND " + e.notExpired() + ")"
}

// absent holds when no live item is at the key.
func (e *expr) absent() string {
	return "(attribute_not_exists(" + e.n(attrPK) + ") OR " + e.expired() + ")"
}

// bounds is the condition lo <= n + shift <= hi on the stored counter n
// (nil bounds are open). It returns "" when the condition always holds.
// The shift is applied to the bounds, since condition expressions have no
// arithmetic.
func (e *expr) bounds(lo, hi *int64, shift int64) string {
	var parts []string
	if lo != nil {
		b, over := sub(*lo, shift)
		switch {
		case over > 0:
			return e.never()
		case over == 0:
			parts = append(parts, e.n(attrN)+" >= "+e.i(b))
		}
	}
	if hi != nil {
		b, over := sub(*hi, shift)
		switch {
		case over < 0:
			return e.never()
		case over == 0:
			parts = append(parts, e.n(attrN)+" <= "+e.i(b))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// sub returns a-b and, when that leaves int64, the direction it left in.
func sub(a, b int64) (int64, int) {
	d := a - b
	switch {
	case b < 0 && d < a:
		return math.MaxInt64, 1
	case b > 0 && d > a:
		return math.MinInt64, -1
	}
	return d, 0
}

// and joins the non-empty conditions.
func and(conds ...string) string {
	var parts []string
	for _, c := range conds {
		if c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, " AND ")
}

// within reports whether n lies in the bounds.
func within(n int64, lo, hi *int64) bool {
	return (lo == nil || n >= *lo) && (hi == nil || n <= *hi)
}
