package engagefn

import (
	"net/http"
	"strconv"

	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/session"
)

// SceneHeader carries the scene of a returned Mini-Program code.
const SceneHeader = "X-Minifn-Scene"

// MakeCode serves POST /qrcode: the image as WeChat returned it (its own
// Content-Type). 400 invalid_request / invalid_page / invalid_scene, 403
// forbidden, 429 rate_limited / wechat_quota, 502 WeChat failures.
func MakeCode(sc *scene.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := scene.Caller{Admin: session.IsAdmin(r.Context())}
		c.OpenID, _ = session.UserFrom(r.Context())
		var req scene.CodeRequest
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
		code, err := sc.Code(r.Context(), c, req)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", code.Image.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(code.Image.Data)))
		w.Header().Set(SceneHeader, code.Scene)
		w.Header().Set("Cache-Control", "private, max-age=86400")
		w.WriteHeader(http.StatusOK)
		w.Write(code.Image.Data)
		return nil
	}
}

// GetScene serves GET /scenes/{scene}: what a page calls on load with
// options.scene. 404 scene_not_found.
func GetScene(sc *scene.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := sc.Lookup(r.Context(), r.PathValue("scene"))
		if err != nil {
			return err
		}
		if e.Params == nil {
			e.Params = scene.Params{}
		}
		w.Header().Set("Cache-Control", "public, max-age=3600") // a scene never changes
		httpapi.JSON(w, http.StatusOK, e)
		return nil
	}
}
