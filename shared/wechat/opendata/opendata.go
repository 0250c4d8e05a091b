// Package opendata implements the legacy checks of data the Mini-Program
// gets from WeChat and forwards to the server: the rawData signature
// (sha1 of rawData + session_key) and the decryption of encryptedData
// (AES-128-CBC, PKCS#7, key = the user's session_key), with the watermark's
// appid checked.
//
// See developers.weixin.qq.com, "开放数据校验与解密" (signature.html). The
// newer phone-number flow (wechat.Client.GetPhoneNumber) needs neither.
//
// # Caveats
//
//   - Decryption needs the user's latest session_key: every wx.login may
//     replace it. A padding or JSON failure almost always means the key is
//     stale (getPhoneNumber before wx.login), and ErrDecrypt says so.
//   - Nothing here logs or returns the session_key.
package opendata

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"github.com/minifn/minifn/shared/apperr"
)

var (
	// ErrBadSignature is returned when rawData's signature does not match.
	ErrBadSignature = apperr.New(apperr.Invalid, "invalid_signature",
		"the signature does not match rawData; call wx.login and try again")
	// ErrDecrypt is returned when encryptedData cannot be decrypted with the
	// stored session_key: usually it is stale.
	ErrDecrypt = apperr.New(apperr.Invalid, "decrypt_failed",
		"encryptedData could not be decrypted; the session is probably stale: call wx.login, log in again and retry")
	// ErrWrongApp is returned when the decrypted watermark names another app.
	ErrWrongApp = apperr.New(apperr.Invalid, "watermark_mismatch", "the data was issued for another Mini-Program")
)

// Sign returns rawData's signature: hex(sha1(rawData + sessionKey)).
func Sign(rawData, sessionKey string) string {
	h := sha1.Sum([]byte(rawData + sessionKey))
	return hex.EncodeToString(h[:])
}

// Verify checks rawData's signature in constant time. Returns ErrBadSignature.
func Verify(rawData, signature, sessionKey string) error {
	if subtle.ConstantTimeCompare([]byte(Sign(rawData, sessionKey)), []byte(signature)) != 1 {
		return ErrBadSignature
	}
	return nil
}

// Watermark is what WeChat stamps into every piece of open data.
type Watermark struct {
	AppID     string `json:"appid"`
	Timestamp int64  `json:"timestamp"`
}

// Decrypt decrypts encryptedData (base64) with the session_key and iv
// (base64), checks that the watermark's appid is appID, and returns the
// plaintext JSON. Returns ErrDecrypt (bad base64, lengths, padding or JSON)
// and ErrWrongApp.
func Decrypt(appID, sessionKey, encryptedData, iv string) ([]byte, error) {
	key, err1 := base64.StdEncoding.DecodeString(sessionKey)
	ivb, err2 := base64.StdEncoding.DecodeString(iv)
	ct, err3 := base64.StdEncoding.DecodeString(encryptedData)
	if err1 != nil || err2 != nil || err3 != nil || len(key) != 16 || len(ivb) != aes.BlockSize ||
		len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrDecrypt
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(pt, ct)
	pt, ok := unpad(pt)
	if !ok {
		return nil, ErrDecrypt
	}
	var env struct {
		Watermark Watermark `json:"watermark"`
	}
	if err := json.Unmarshal(pt, &env); err != nil {
		return nil, ErrDecrypt
	}
	if subtle.ConstantTimeCompare([]byte(env.Watermark.AppID), []byte(appID)) != 1 {
		return nil, ErrWrongApp
	}
	return pt, nil
}

// unpad strips PKCS#7 padding (1 to 16 bytes, all equal to the count).
func unpad(b []byte) ([]byte, bool) {
	n := int(b[len(b)-1])
	if n < 1 || n > aes.BlockSize || n > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// Phone is the decrypted data of the legacy getPhoneNumber flow.
type Phone struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       Watermark `json:"watermark"`
}
