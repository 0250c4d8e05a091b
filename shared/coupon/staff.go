package coupon

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// ListStaff returns the staff roles in OpenID order, after the cursor, and
// the cursor of the next page ("" when there is none). limit is 1 to 100.
//
// The roles are one collection (one DynamoDB partition): grants are rare,
// and the reads of redemptions (IsStaff, one Get each) stay far below a
// partition's limit.
func (s *Service) ListStaff(ctx context.Context, after string, limit int) ([]Staff, string, error) {
	if limit < 1 || limit > 100 {
		return nil, "", apperr.Invalidf("limit must be 1 to 100")
	}
	if after != "" && !ValidOpenID(after) {
		return nil, "", apperr.Invalidf("after is not a cursor of this list")
	}
	items, next, err := s.st.Query(ctx, staffPK, store.Query{After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Staff, 0, len(items))
	for _, it := range items {
		var st Staff
		if err := json.Unmarshal(it.Value, &st); err != nil {
			return nil, "", fmt.Errorf("coupon: corrupt item %s: %w", it.Key, err)
		}
		out = append(out, st)
	}
	return out, next, nil
}
