package engagefn

import (
	"net/http"
	"strconv"
	"time"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// DefaultStatsDays is what GET /stats returns without ?days=.
const DefaultStatsDays = 14

// Stats serves GET /stats?days=N (admin): the daily counters of the last N
// days (DefaultStatsDays by default, at most stats.MaxDays), today last, in
// China Standard Time (package stats). It reads the counter items only.
func Stats(st store.Store, now func() time.Time) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		days := DefaultStatsDays
		if v := r.URL.Query().Get("days"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return stats.ErrDays
			}
			days = n
		}
		rep, err := stats.Read(r.Context(), st, now(), days)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, rep)
		return nil
	}
}
