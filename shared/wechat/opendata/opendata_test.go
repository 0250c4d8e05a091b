package opendata

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The official vectors of WeChat's open-data documentation and its
// WXBizDataCrypt demo (also in the wechatpy and WxJava test suites).
const (
	rawData      = `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
	rawKey       = "HyVFkGl5F5OQWJZZaNzBBg=="
	rawSignature = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"

	demoAppID = "wx4f4bc4dec97d474b"
	demoKey   = "tiihtNczf5v6AKRyjwEUhQ=="
	demoIV    = "r7BXXKkLb8qrSNn05n0qiA=="
	demoData  = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
)

func TestSignatureOfficialVector(t *testing.T) {
	if got := Sign(rawData, rawKey); got != rawSignature {
		t.Fatalf("Sign = %s, want %s", got, rawSignature)
	}
	if err := Verify(rawData, rawSignature, rawKey); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ raw, sig, key string }{
		{rawData + " ", rawSignature, rawKey},
		{rawData, strings.ToUpper(rawSignature), rawKey},
		{rawData, rawSignature, demoKey},
		{rawData, "", rawKey},
	} {
		if err := Verify(bad.raw, bad.sig, bad.key); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(%.20q, %q, %q) = %v, want ErrBadSignature", bad.raw, bad.sig, bad.key, err)
		}
	}
}

func TestDecryptOfficialVector(t *testing.T) {
	pt, err := Decrypt(demoAppID, demoKey, demoData, demoIV)
	if err != nil {
		t.Fatal(err)
	}
	var u struct {
		OpenID    string    `json:"openId"`
		NickName  string    `json:"nickName"`
		UnionID   string    `json:"unionId"`
		Watermark Watermark `json:"watermark"`
	}
	if err := json.Unmarshal(pt, &u); err != nil {
		t.Fatal(err)
	}
	want := Watermark{AppID: demoAppID, Timestamp: 1477314187}
	if u.OpenID != "oGZUI0egBJY1zhBYw2KhdUfwVJJE" || u.NickName != "Band" ||
		u.UnionID != "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" || u.Watermark != want {
		t.Errorf("decrypted %s", pt)
	}
}

func TestDecryptRefusals(t *testing.T) {
	otherKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	for name, c := range map[string]struct {
		app, key, data, iv string
		want               error
	}{
		"another app":    {"wx0000000000000000", demoKey, demoData, demoIV, ErrWrongApp},
		"stale key":      {demoAppID, otherKey, demoData, demoIV, ErrDecrypt},
		"short key":      {demoAppID, "abc", demoData, demoIV, ErrDecrypt},
		"bad iv":         {demoAppID, demoKey, demoData, "abc", ErrDecrypt},
		"not base64":     {demoAppID, demoKey, "%%%", demoIV, ErrDecrypt},
		"not blocks":     {demoAppID, demoKey, demoData[:20], demoIV, ErrDecrypt},
		"truncated data": {demoAppID, demoKey, demoData[:len(demoData)-24] + "", demoIV, ErrDecrypt},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decrypt(c.app, c.key, c.data, c.iv); !errors.Is(err, c.want) {
				t.Errorf("err %v, want %v", err, c.want)
			}
		})
	}
}

// TestDecryptPhoneRoundTrip encrypts a legacy getPhoneNumber payload the
// way WeChat does and decrypts it back.
func TestDecryptPhoneRoundTrip(t *testing.T) {
	key, iv := []byte("k3y-0f-16-bytes!"), []byte("iv-0f-16-bytes!!")
	pt := []byte(`{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"wxapp","timestamp":1}}`)
	pad := aes.BlockSize - len(pt)%aes.BlockSize
	for i := 0; i < pad; i++ {
		pt = append(pt, byte(pad))
	}
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	b64 := base64.StdEncoding.EncodeToString
	out, err := Decrypt("wxapp", b64(key), b64(ct), b64(iv))
	if err != nil {
		t.Fatal(err)
	}
	var p Phone
	if err := json.Unmarshal(out, &p); err != nil || p.PurePhoneNumber != "13800138000" || p.CountryCode != "86" {
		t.Errorf("phone %+v, %v", p, err)
	}
}
