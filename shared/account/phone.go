package account

import (
	"context"
	"encoding/json"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/wechat"
	"github.com/minifn/minifn/shared/wechat/opendata"
)

// Phones is what binding a phone number needs of the WeChat client.
type Phones interface {
	GetPhoneNumber(ctx context.Context, code, openid string) (wechat.PhoneInfo, error)
}

// BindPhone exchanges a getPhoneNumber code for the user's number (WeChat
// checks the code is this user's) and stores it on the profile. Returns
// invalid_request, wechat.ErrInvalidPhoneCode, ErrNotFound, WeChat errors.
func (s *Service) BindPhone(ctx context.Context, phones Phones, openid, code string) (User, error) {
	if code == "" {
		return User{}, apperr.Invalidf(`field "code" is required: the code from the getPhoneNumber button`)
	}
	info, err := phones.GetPhoneNumber(ctx, code, openid)
	if err != nil {
		return User{}, err
	}
	return s.setPhone(ctx, openid, info.PhoneNumber, info.PurePhoneNumber)
}

// BindPhoneEncrypted is the legacy flow: encryptedData and iv of the
// getPhoneNumber button, decrypted with the user's latest session_key and
// checked against appID. Returns ErrNoSessionKey, opendata.ErrDecrypt (a
// stale session_key, usually), opendata.ErrWrongApp.
func (s *Service) BindPhoneEncrypted(ctx context.Context, appID, openid, encryptedData, iv string) (User, error) {
	if encryptedData == "" || iv == "" {
		return User{}, apperr.Invalidf(`fields "encrypted_data" and "iv" are required`)
	}
	key, err := s.SessionKey(ctx, openid)
	if err != nil {
		return User{}, err
	}
	pt, err := opendata.Decrypt(appID, key, encryptedData, iv)
	if err != nil {
		return User{}, err
	}
	var p opendata.Phone
	if err := json.Unmarshal(pt, &p); err != nil {
		return User{}, opendata.ErrDecrypt
	}
	return s.setPhone(ctx, openid, p.PhoneNumber, p.PurePhoneNumber)
}

func (s *Service) setPhone(ctx context.Context, openid, full, pure string) (User, error) {
	phone := full
	if phone == "" {
		phone = pure
	}
	return s.Update(ctx, openid, func(u *User) error {
		u.Phone = phone
		return nil
	})
}

// MaskPhone hides the middle of a number for display: 139****1234.
func MaskPhone(p string) string {
	r := []rune(p)
	if len(r) < 7 {
		return p
	}
	keep := 3
	for i := keep; i < len(r)-4; i++ {
		r[i] = '*'
	}
	return string(r)
}
