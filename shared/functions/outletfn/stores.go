package outletfn

import (
	"math"
	"net/http"
	"strconv"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/session"
)

// Handlers returns the stores function's handlers by route. The Spec wraps
// the GETs in session.AllowAdmin (so that the admin token is recognised
// there) and the writes in the admin middleware.
func Handlers(ol *outlet.Service) map[string]httpapi.Func {
	return map[string]httpapi.Func{
		"GET /stores":      listStores(ol),
		"GET /stores/{id}": getStore(ol),
		"POST /stores":     createStore(ol),
		"PUT /stores/{id}": updateStore(ol),
	}
}

// view is a store as answered: the record, whether it trades now, and its
// distance in whole metres when a point was given.
type view struct {
	outlet.Store
	OpenNow  bool   `json:"open_now"`
	Distance *int64 `json:"distance_m,omitempty"`
}

func viewOf(ol *outlet.Service, st outlet.Store) view {
	return view{Store: st, OpenNow: ol.OpenNow(st)}
}

// listStores serves GET /stores: with lat and lng, the stores within
// radius_m (default 5 km, at most 50 km) nearest first, each with
// distance_m; without them, every store in id order, paged with after and
// limit. Users see open stores only; the admin token sees closed ones too.
func listStores(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		admin := session.IsAdmin(r.Context())
		q := r.URL.Query()
		if !q.Has("lat") && !q.Has("lng") && !q.Has("radius_m") {
			limit, err := httpapi.IntParam(r, "limit", 100, 1, 100)
			if err != nil {
				return err
			}
			list, next, err := ol.List(r.Context(), q.Get("after"), limit, admin)
			if err != nil {
				return err
			}
			out := make([]view, len(list))
			for i, st := range list {
				out[i] = viewOf(ol, st)
			}
			httpapi.JSON(w, http.StatusOK, struct {
				Stores []view `json:"stores"`
				Next   string `json:"next,omitempty"`
			}{out, next})
			return nil
		}
		nq := outlet.NearbyQuery{Radius: outlet.DefaultRadius, Closed: admin}
		var err error
		if nq.Lat, err = floatParam(r, "lat", math.NaN()); err != nil {
			return err
		}
		if nq.Lng, err = floatParam(r, "lng", math.NaN()); err != nil {
			return err
		}
		if nq.Radius, err = floatParam(r, "radius_m", outlet.DefaultRadius); err != nil {
			return err
		}
		if nq.Limit, err = httpapi.IntParam(r, "limit", 20, 1, outlet.MaxResults); err != nil {
			return err
		}
		if math.IsNaN(nq.Lat) || math.IsNaN(nq.Lng) {
			return apperr.Invalidf("lat and lng are both required for a nearby query")
		}
		near, err := ol.Nearby(r.Context(), nq)
		if err != nil {
			return err
		}
		out := make([]view, len(near))
		for i, n := range near {
			out[i] = viewOf(ol, n.Store)
			d := int64(math.Round(n.Distance))
			out[i].Distance = &d
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Stores []view `json:"stores"`
		}{out})
		return nil
	}
}

// floatParam reads a finite decimal query parameter, def when absent.
func floatParam(r *http.Request, name string, def float64) (float64, error) {
	s := r.URL.Query().Get(name)
	if !r.URL.Query().Has(name) {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, apperr.Invalidf("%s must be a decimal number", name)
	}
	return v, nil
}

// getStore serves GET /stores/{id}: the store, open or closed (a saved
// link shows "closed" rather than a 404), 404 store_not_found.
func getStore(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		st, err := ol.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"store": viewOf(ol, st)})
		return nil
	}
}

// createStore serves POST /stores (admin): an outlet.Edit with name,
// address, lat and lng; 201 {"store"}. An Idempotency-Key makes a retry
// answer the first store (Idempotent-Replayed) and create nothing.
func createStore(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden.WithMessage("the admin token is required")
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var e outlet.Edit
		if err := httpapi.Decode(r, &e); err != nil {
			return err
		}
		st, replayed, err := ol.Create(r.Context(), e, key)
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, replayed)
		httpapi.JSON(w, http.StatusCreated, map[string]any{"store": viewOf(ol, st)})
		return nil
	}
}

// updateStore serves PUT /stores/{id} (admin): the fields present change;
// a stale "if_version" is 409 version_conflict; 200 {"store"}.
func updateStore(ol *outlet.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden.WithMessage("the admin token is required")
		}
		var e outlet.Edit
		if err := httpapi.Decode(r, &e); err != nil {
			return err
		}
		st, err := ol.Update(r.Context(), r.PathValue("id"), e)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string]any{"store": viewOf(ol, st)})
		return nil
	}
}
