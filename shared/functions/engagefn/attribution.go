package engagefn

import (
	"net/http"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/scene"
)

// Attribution serves GET /attribution (admin): users and paid orders by
// scene and by referrer.
func Attribution(sc *scene.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		sum, err := sc.Summarize(r.Context())
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, sum)
		return nil
	}
}
