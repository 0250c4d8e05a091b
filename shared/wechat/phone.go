package wechat

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/minifn/minifn/shared/apperr"
)

// PhoneInfo is the phone number a user agreed to share (getPhoneNumber).
type PhoneInfo struct {
	PhoneNumber     string `json:"phoneNumber"`     // with the country code for numbers outside China
	PurePhoneNumber string `json:"purePhoneNumber"` // without the country code
	CountryCode     string `json:"countryCode"`
	Watermark       struct {
		Timestamp int64  `json:"timestamp"`
		AppID     string `json:"appid"`
	} `json:"watermark"`
}

// ErrInvalidPhoneCode is returned when a getPhoneNumber code is unknown,
// expired (5 minutes), already used, or another user's (40029).
var ErrInvalidPhoneCode = apperr.New(apperr.Invalid, "invalid_phone_code",
	"the phone number code is invalid, expired, used or another user's; ask again with getPhoneNumber")

var phoneErrs = map[int]*apperr.Error{40029: ErrInvalidPhoneCode}

// GetPhoneNumber exchanges a getPhoneNumber code for the user's number (POST
// /wxa/business/getuserphonenumber). With openid, WeChat checks that the
// code belongs to that user. Returns ErrInvalidPhoneCode, ErrRateLimited,
// ErrUnavailable, ErrWeChat; invalid_request for a malformed code.
func (c *Client) GetPhoneNumber(ctx context.Context, code, openid string) (PhoneInfo, error) {
	if !validCode(code) {
		return PhoneInfo{}, ErrInvalidPhoneCode.WithMessage("the phone number code is malformed; send the code from getPhoneNumber")
	}
	body := map[string]string{"code": code}
	if openid != "" {
		body["openid"] = openid
	}
	var ans struct {
		PhoneInfo phoneJSON `json:"phone_info"`
	}
	if err := c.postJSON(ctx, "/wxa/business/getuserphonenumber", body, &ans); err != nil {
		return PhoneInfo{}, remap(err, phoneErrs)
	}
	info := ans.PhoneInfo.phoneInfo()
	if info.PurePhoneNumber == "" && info.PhoneNumber == "" {
		return PhoneInfo{}, ErrWeChat.WithMessage("WeChat answered getuserphonenumber without a number")
	}
	return info, nil
}

// phoneJSON decodes phone_info leniently: the documentation's example shows
// countryCode as a number while its table says string.
type phoneJSON struct {
	PhoneNumber     string          `json:"phoneNumber"`
	PurePhoneNumber string          `json:"purePhoneNumber"`
	CountryCode     json.RawMessage `json:"countryCode"`
	Watermark       struct {
		Timestamp int64  `json:"timestamp"`
		AppID     string `json:"appid"`
	} `json:"watermark"`
}

func (p phoneJSON) phoneInfo() PhoneInfo {
	out := PhoneInfo{PhoneNumber: p.PhoneNumber, PurePhoneNumber: p.PurePhoneNumber}
	out.Watermark.Timestamp, out.Watermark.AppID = p.Watermark.Timestamp, p.Watermark.AppID
	var s string
	var n json.Number
	switch {
	case json.Unmarshal(p.CountryCode, &s) == nil:
		out.CountryCode = s
	case json.Unmarshal(p.CountryCode, &n) == nil:
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			out.CountryCode = strconv.FormatInt(i, 10)
		}
	}
	return out
}
