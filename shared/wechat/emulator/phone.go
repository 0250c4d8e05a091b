package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

const phoneCodeTTL = 5 * time.Minute // getPhoneNumber codes live 5 minutes

// phoneState holds the getPhoneNumber codes not yet exchanged.
type phoneState struct {
	mu    sync.Mutex
	codes map[string]phoneCode
}

type phoneCode struct {
	userKey
	expires time.Time
}

// PhoneNumber is the emulated phone number of a named test user: a
// mainland mobile number that depends only on the name.
func PhoneNumber(user string) string {
	h := mac("minifn-emulator-phone", user)
	digits := make([]byte, 0, 8)
	for i := 0; len(digits) < 8; i++ {
		digits = append(digits, '0'+h[i]%10)
	}
	return "139" + string(digits[1:]) + string(digits[0])
}

// MintPhoneCode returns a one-time getPhoneNumber code for the named test
// user of appid (as the Mini-Program's button would give), and the number
// getuserphonenumber will answer for it.
func (e *Emulator) MintPhoneCode(appid, user string) (code, phone string) {
	defer e.changed() // the state file, if any
	now := e.now()
	code = randomCode()
	openid := OpenID(appid, user)
	e.mu.Lock()
	e.openids[openid] = userKey{appid, user}
	e.mu.Unlock()
	st := &e.phones
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.codes == nil {
		st.codes = map[string]phoneCode{}
	}
	for c, pc := range st.codes {
		if !now.Before(pc.expires) {
			delete(st.codes, c)
		}
	}
	st.codes[code] = phoneCode{userKey: userKey{appid, user}, expires: now.Add(phoneCodeTTL)}
	return code, PhoneNumber(user)
}

// getPhoneNumber emulates POST /wxa/business/getuserphonenumber {code, openid?}.
func (e *Emulator) getPhoneNumber(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002, "require POST method")
		return
	}
	appid, ok := e.requireToken(w, r)
	if !ok {
		return
	}
	var req struct {
		Code   string `json:"code"`
		OpenID string `json:"openid"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		e.writeErr(w, 47001, "data format error")
		return
	}
	user, errcode := e.redeemPhoneCode(appid, req.Code, req.OpenID)
	if errcode != 0 {
		e.writeErr(w, errcode, "invalid code")
		return
	}
	phone := PhoneNumber(user)
	// The official example: countryCode as a number, errcode 0 with "ok".
	writeJSON(w, jsonType, map[string]any{
		"errcode": 0, "errmsg": "ok",
		"phone_info": map[string]any{
			"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": 86,
			"watermark": map[string]any{"timestamp": e.now().Unix(), "appid": appid},
		},
	})
}

// redeemPhoneCode uses up a code of appid; with an openid, the code must be
// that user's (otherwise it stays usable by its owner).
func (e *Emulator) redeemPhoneCode(appid, code, openid string) (string, int) {
	now := e.now()
	st := &e.phones
	st.mu.Lock()
	defer st.mu.Unlock()
	pc, ok := st.codes[code]
	switch {
	case code == "" || !ok || pc.appid != appid:
		return "", 40029
	case !now.Before(pc.expires):
		delete(st.codes, code)
		return "", 40029
	case openid != "" && openid != OpenID(appid, pc.user):
		return "", 40029
	}
	delete(st.codes, code)
	return pc.user, 0
}
