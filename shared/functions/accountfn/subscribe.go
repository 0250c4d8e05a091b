package accountfn

import (
	"encoding/json"
	"net/http"

	"github.com/minifn/minifn/shared/account"
	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/subscribe"
)

// Subscriptions serves POST /me/subscriptions (user): the Mini-Program
// reports the result of wx.requestSubscribeMessage, either as it came
// ({"errMsg":"requestSubscribeMessage:ok","<template id>":"accept",…}) or as
// {"results":{"<template id>":"accept"}}. Each accept is one send credit
// (at most subscribe.MaxCredits per template); an Idempotency-Key makes a
// retried report count once. → 200 {"credits":{"<template id>":n}}.
func Subscriptions(subs *subscribe.Service) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, err := session.Caller(r.Context())
		if err != nil {
			return err
		}
		var raw map[string]json.RawMessage
		if err := httpapi.Decode(r, &raw); err != nil {
			return err
		}
		if nested, ok := raw["results"]; ok {
			raw = nil
			if err := json.Unmarshal(nested, &raw); err != nil {
				return apperr.Invalidf(`field "results" must be an object of template id → result`)
			}
		}
		results := map[string]string{}
		for k, v := range raw {
			if k == "errMsg" || k == "errCode" {
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return apperr.Invalidf(`field %q must be a string: accept, reject, ban or filter`, k)
			}
			results[k] = s
		}
		out, err := subs.Record(r.Context(), openid, results, r.Header.Get(idem.Header))
		if err != nil {
			return err
		}
		httpapi.MarkReplayed(w, out.Replayed)
		httpapi.JSON(w, http.StatusOK, out)
		return nil
	}
}

// MePhone serves POST /me/phone (user): {"code"} from the getPhoneNumber
// button (the current flow), or the legacy {"encrypted_data","iv"}
// decrypted with the stored session_key. → 200 {"user"} with the number
// masked. 400 invalid_phone_code, decrypt_failed (stale session: log in
// again), watermark_mismatch.
func MePhone(accounts *account.Service, phones account.Phones, appID string) httpapi.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		openid, err := session.Caller(r.Context())
		if err != nil {
			return err
		}
		var in struct {
			Code          string `json:"code"`
			EncryptedData string `json:"encrypted_data"`
			IV            string `json:"iv"`
		}
		if err := httpapi.Decode(r, &in); err != nil {
			return err
		}
		var u account.User
		if in.Code == "" && in.EncryptedData != "" {
			u, err = accounts.BindPhoneEncrypted(r.Context(), appID, openid, in.EncryptedData, in.IV)
		} else {
			u, err = accounts.BindPhone(r.Context(), phones, openid, in.Code)
		}
		if err != nil {
			return err
		}
		u.Phone = account.MaskPhone(u.Phone)
		httpapi.JSON(w, http.StatusOK, map[string]account.User{"user": u})
		return nil
	}
}
