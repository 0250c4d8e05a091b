package outlet

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// Limits of a nearby query.
const (
	// MaxRadius is the widest circle a nearby query takes, in metres: a
	// city. At 50 km the coarsest level's cover stays within MaxCells
	// cells up to latitude 80°, and GCJ-02's distortion of a distance stays
	// far below a metre (see the package doc).
	MaxRadius = 50_000
	// DefaultRadius is the radius when the query gives none.
	DefaultRadius = 5_000
	// MaxResults bounds the stores one query answers.
	MaxResults = 100
)

// NearbyQuery asks for the stores within Radius metres of (Lat, Lng).
type NearbyQuery struct {
	Lat, Lng float64 // GCJ-02, as wx.getLocation({type:'gcj02'}) gives them
	Radius   float64 // metres, > 0 and at most MaxRadius
	Limit    int     // 1 to MaxResults: the nearest this many
	Closed   bool    // include stores whose status is closed (the admin's view)
}

// Near is a store with its distance from the query's point.
type Near struct {
	Store
	Distance float64 // metres, great-circle
}

// Validate checks the query's point, radius and limit.
func (q NearbyQuery) Validate() error {
	if err := CheckLatLng(q.Lat, q.Lng); err != nil {
		return err
	}
	if math.IsNaN(q.Radius) || q.Radius <= 0 || q.Radius > MaxRadius {
		return apperr.Invalidf("radius_m must be a distance in metres, more than 0 and at most %d", MaxRadius)
	}
	if q.Limit < 1 || q.Limit > MaxResults {
		return apperr.Invalidf("limit must be 1 to %d", MaxResults)
	}
	return nil
}

// Nearby returns the stores within q.Radius of the point, nearest first
// (ties by id), at most q.Limit of them; closed stores only when q.Closed.
//
// It reads the index items of the cells covering the circle at one level
// (see Levels): one Query per cell, run a few at a time, and never the
// stores outside those cells, so its cost follows the stores near the
// point, not the stores in all.
//
// Returns invalid_request errors for a bad point, radius or limit.
func (s *Service) Nearby(ctx context.Context, q NearbyQuery) ([]Near, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	cells := pickCover(q.Lat, q.Lng, q.Radius).cells()
	found := make([][]Near, len(cells))
	errs := make([]error, len(cells))
	// A few cells at a time: on DynamoDB and PostgreSQL each Query is a
	// round trip, and the circle's cells are independent.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, cell := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			found[i], errs[i] = s.cell(ctx, cell, q)
		}()
	}
	wg.Wait()
	var out []Near
	for i := range cells {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, found[i]...)
	}
	slices.SortFunc(out, func(a, b Near) int {
		return cmp.Or(cmp.Compare(a.Distance, b.Distance), cmp.Compare(a.ID, b.ID))
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// cell returns the stores of one index cell that the query keeps.
func (s *Service) cell(ctx context.Context, cell string, q NearbyQuery) ([]Near, error) {
	var out []Near
	after := ""
	for {
		items, next, err := s.st.Query(ctx, geoPrefix+cell, store.Query{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var st Store
			if err := json.Unmarshal(it.Value, &st); err != nil {
				return nil, fmt.Errorf("outlet: corrupt item %s: %w", it.Key, err)
			}
			if st.Status != Open && !q.Closed {
				continue
			}
			if d := Distance(q.Lat, q.Lng, st.Lat, st.Lng); d <= q.Radius {
				out = append(out, Near{Store: st, Distance: d})
			}
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// List returns the stores in id order, after the cursor, and the cursor of
// the next page ("" when there is none): all of them when closed is true
// (the admin's console), else the open ones only, so that a page may hold
// fewer than limit while more follow. limit is 1 to 100.
func (s *Service) List(ctx context.Context, after string, limit int, closed bool) ([]Store, string, error) {
	if limit < 1 || limit > 100 {
		return nil, "", apperr.Invalidf("limit must be 1 to 100")
	}
	if after != "" && !ValidID(after) {
		return nil, "", apperr.Invalidf("after is not a cursor of this list")
	}
	items, next, err := s.st.Query(ctx, storesPK, store.Query{After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Store, 0, len(items))
	for _, it := range items {
		var st Store
		if err := json.Unmarshal(it.Value, &st); err != nil {
			return nil, "", fmt.Errorf("outlet: corrupt item %s: %w", it.Key, err)
		}
		if st.Status == Open || closed {
			out = append(out, st)
		}
	}
	return out, next, nil
}
