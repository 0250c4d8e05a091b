package accountfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/session"
)

// MeHandler serves GET /me: {"user":{…}} for the caller (session.Require must wrap
// it). The user record holds no secret.
func MeHandler(accounts *account.Service) http.Handler {
	return httpapi.Func(func(w http.ResponseWriter, r *http.Request) error {
		openid, ok := session.UserFrom(r.Context())
		if !ok {
			return session.ErrUnauthenticated
		}
		u, err := accounts.Get(r.Context(), openid)
		if err != nil {
			return err
		}
		u.Phone = account.MaskPhone(u.Phone) // the full number stays server-side
		httpapi.JSON(w, http.StatusOK, map[string]account.User{"user": u})
		return nil
	})
}
