package couponfn

import (
	"net/http"

	"github.com/minifn/minifn/shared/coupon"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/session"
)

// listCampaignsOrAll serves GET /campaigns: anyone sees the campaigns open
// or about to open, with remaining stock; ?all=1 (admin only) every
// campaign, paused and ended ones too.
func listCampaignsOrAll(cs *coupon.Service, sess *session.Sessions) http.Handler {
	listAll := sess.RequireAdmin(listCampaigns(cs, true))
	listOpen := listCampaigns(cs, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if all := r.URL.Query().Get("all"); all != "" && all != "0" && all != "false" {
			listAll.ServeHTTP(w, r)
			return
		}
		listOpen.ServeHTTP(w, r)
	})
}

type campaignBody struct {
	Campaign coupon.CampaignView `json:"campaign"`
}

func listCampaigns(cs *coupon.Service, all bool) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		list, err := cs.Campaigns(r.Context(), all)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, struct {
			Campaigns []coupon.CampaignView `json:"campaigns"`
		}{list})
		return nil
	}
}

func getCampaign(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := cs.Campaign(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, campaignBody{v})
		return nil
	}
}

func createCampaign(cs *coupon.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		key := r.Header.Get(idem.Header)
		if err := idem.Check(key); err != nil {
			return err
		}
		var in coupon.CampaignInput
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		v, replayed, err := cs.CreateCampaign(r.Context(), in, key)
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, replayed)
		httpapi.JSON(w, http.StatusCreated, campaignBody{v})
		return nil
	}
}

func campaignAction(cs *coupon.Service, a coupon.Action) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !session.IsAdmin(r.Context()) {
			return session.ErrForbidden
		}
		v, err := cs.SetState(r.Context(), r.PathValue("id"), a)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, campaignBody{v})
		return nil
	}
}
