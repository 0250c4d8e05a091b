package walletfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/wallet"
)

// Handlers returns the wallet's handlers by route, without their session
// middleware (Wallet.Build adds it; tests put the caller in the context).
func Handlers(ws *wallet.Service) map[string]httpapi.Func {
	return map[string]httpapi.Func{
		"GET /wallet": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			return view(w, r, ws, openid)
		},
		"GET /wallets/{openid}": func(w http.ResponseWriter, r *http.Request) error {
			if err := requireAdmin(r); err != nil {
				return err
			}
			return view(w, r, ws, r.PathValue("openid"))
		},
		"POST /wallet/topup": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			var in struct {
				PlanID string `json:"plan_id"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			if in.PlanID == "" {
				return apperr.Invalidf(`field "plan_id" is required`)
			}
			out, err := ws.CreateTopUp(r.Context(), openid, in.PlanID, r.Header.Get(idem.Header))
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, out.Replayed)
			httpapi.JSON(w, http.StatusCreated, map[string]any{"topup": out.TopUp, "payment": out.Payment})
			return nil
		},
		"GET /wallet/topups": func(w http.ResponseWriter, r *http.Request) error {
			openid, err := session.Caller(r.Context())
			if err != nil {
				return err
			}
			limit, err := httpapi.IntParam(r, "limit", 20, 1, 100)
			if err != nil {
				return err
			}
			list, next, err := ws.TopUps(r.Context(), openid, r.URL.Query().Get("after"), limit)
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, struct {
				TopUps []wallet.TopUp `json:"topups"`
				Next   string         `json:"next,omitempty"`
			}{list, next})
			return nil
		},
		"GET /wallet/topups/{no}": func(w http.ResponseWriter, r *http.Request) error {
			openid := ""
			if !session.IsAdmin(r.Context()) {
				var err error
				if openid, err = session.Caller(r.Context()); err != nil {
					return err
				}
			}
			t, err := ws.TopUp(r.Context(), openid, r.PathValue("no"))
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"topup": t})
			return nil
		},
		"POST /wallet/topups/{no}/refund": func(w http.ResponseWriter, r *http.Request) error {
			if err := requireAdmin(r); err != nil {
				return err
			}
			var in struct {
				Reason string `json:"reason"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			t, replayed, err := ws.Refund(r.Context(), r.PathValue("no"), in.Reason, r.Header.Get(idem.Header))
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, replayed)
			httpapi.JSON(w, http.StatusOK, map[string]any{"topup": t})
			return nil
		},
		"GET /topup-plans": func(w http.ResponseWriter, r *http.Request) error {
			plans, err := ws.Plans(r.Context())
			if err != nil {
				return err
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{"plans": plans})
			return nil
		},
		"POST /topup-plans": func(w http.ResponseWriter, r *http.Request) error {
			if err := requireAdmin(r); err != nil {
				return err
			}
			var in wallet.PlanInput
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			p, replayed, err := ws.CreatePlan(r.Context(), in, r.Header.Get(idem.Header))
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, replayed)
			httpapi.JSON(w, http.StatusCreated, map[string]any{"plan": p})
			return nil
		},
		"POST /wallets/{openid}/adjust": func(w http.ResponseWriter, r *http.Request) error {
			if err := requireAdmin(r); err != nil {
				return err
			}
			var in struct {
				Amount int64  `json:"amount"`
				Reason string `json:"reason"`
			}
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			openid := r.PathValue("openid")
			out, err := ws.Adjust(r.Context(), openid, in.Amount, in.Reason, r.Header.Get(idem.Header))
			if err != nil {
				return err
			}
			bal, err := ws.Get(r.Context(), openid)
			if err != nil {
				return err
			}
			httpapi.MarkReplayed(w, out.Replayed)
			httpapi.JSON(w, http.StatusCreated, map[string]any{"entry": out.Entry, "balance": bal.Balance})
			return nil
		},
	}
}

func requireAdmin(r *http.Request) error {
	if !session.IsAdmin(r.Context()) {
		return apperr.New(apperr.Forbidden, "forbidden", "the admin token is required")
	}
	return nil
}

// view answers GET /wallet and GET /wallets/{openid}: the balance and a
// page of the ledger, newest first (paged like points' ledger).
func view(w http.ResponseWriter, r *http.Request, ws *wallet.Service, openid string) error {
	limit, err := httpapi.IntParam(r, "limit", 50, 1, 200)
	if err != nil {
		return err
	}
	ledger, next, err := ws.Ledger(r.Context(), openid, r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	bal, err := ws.Get(r.Context(), openid)
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, struct {
		wallet.Balance
		Ledger []wallet.Entry `json:"ledger"`
		Next   string         `json:"next,omitempty"`
	}{bal, ledger, next})
	return nil
}
