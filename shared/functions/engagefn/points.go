package engagefn

import (
	"net/http"
	"strconv"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/qrpng"
	"github.com/minifn/minifn/shared/ratelimit"
	"github.com/minifn/minifn/shared/risk"
	"github.com/minifn/minifn/shared/session"
)

func pointsBalance(ps *points.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, err := session.Caller(r.Context())
		if err != nil {
			return err
		}
		limit, err := httpapi.IntParam(r, "limit", 50, 1, 200)
		if err != nil {
			return err
		}
		ledger, next, err := ps.Ledger(r.Context(), openid, r.URL.Query().Get("after"), limit)
		if err != nil {
			return err
		}
		bal, err := ps.Balance(r.Context(), openid)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Balance int64          `json:"balance"`
			Ledger  []points.Entry `json:"ledger"`
			Next    string         `json:"next,omitempty"`
		}{bal, ledger, next})
		return nil
	}
}

// pointsScan reads the request, asks risk control about the caller (here:
// it needs the request's IP; see claimCoupon), then credits the code.
func pointsScan(ps *points.Service, rk *risk.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, err := session.Caller(r.Context())
		if err != nil {
			return err
		}
		var in struct {
			Code string `json:"code"`
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		if in.Code == "" {
			return apperr.Invalidf(`field "code" is required`)
		}
		if err := rk.Allow(r.Context(), openid, ratelimit.ClientIP(r)); err != nil {
			return err
		}
		out, err := ps.Scan(r.Context(), openid, in.Code, r.Header.Get(idem.Header))
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, out.Replayed)
		httpapi.JSON(w, http.StatusOK, out)
		return nil
	}
}

func pointsRedeem(ps *points.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, err := session.Caller(r.Context())
		if err != nil {
			return err
		}
		var in struct {
			RewardID string `json:"reward_id"`
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		out, err := ps.Redeem(r.Context(), openid, in.RewardID, r.Header.Get(idem.Header))
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, out.Replayed)
		httpapi.JSON(w, http.StatusCreated, out)
		return nil
	}
}

func pointsMint(ps *points.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Points int64 `json:"points"`
			Count  int   `json:"count"`
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		out, err := ps.Mint(r.Context(), in.Points, in.Count, r.Header.Get(idem.Header))
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, out.Replayed)
		httpapi.JSON(w, http.StatusCreated, out)
		return nil
	}
}

// pointsCodeQR draws a minted code as a QR image for printing (404
// code_not_found for any other); the Mini-Program reads it with
// wx.scanCode and posts it to /points/scan. X-Minifn-Points and
// X-Minifn-Used tell the admin what the code is worth and whether it went.
func pointsCodeQR(ps *points.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		size, err := httpapi.IntParam(r, "size", qrpng.DefaultSize, 64, qrpng.MaxSize)
		if err != nil {
			return err
		}
		info, err := ps.Code(r.Context(), r.PathValue("code"))
		if err != nil {
			return err
		}
		png, err := qrpng.Encode(info.Code, size)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", qrpng.ContentType)
		w.Header().Set("X-Minifn-Points", strconv.FormatInt(info.Points, 10))
		w.Header().Set("X-Minifn-Used", strconv.FormatBool(info.Used))
		w.WriteHeader(http.StatusOK)
		w.Write(png)
		return nil
	}
}

func rewardCreate(ps *points.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in points.RewardInput
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		rw, replayed, err := ps.CreateReward(r.Context(), in, r.Header.Get(idem.Header))
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, replayed)
		httpapi.JSON(w, http.StatusCreated, map[string]points.Reward{"reward": rw})
		return nil
	}
}

func rewardList(ps *points.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		list, err := ps.Rewards(r.Context())
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, map[string][]points.Reward{"rewards": list})
		return nil
	}
}
