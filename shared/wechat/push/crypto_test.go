package push_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/wechat/push"
)

// The official WXBizMsgCrypt sample (cryptoDemo.zip, Sample.py/Sample.java
// "测试解密接口"; the values are quoted in WECHAT-PROTOCOLS.md §1.8): token,
// key, appid, timestamp, nonce, the Encrypt of the sample's from_xml, and
// the msg_signature WeChat computed over them.
const (
	vecToken     = "spamtest"
	vecKey       = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	vecAppID     = "wx2c2769f8efd9abc2"
	vecTimestamp = "1409735669"
	vecNonce     = "1320562132"
	vecSignature = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	vecEncrypt   = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)

func TestOfficialVector(t *testing.T) {
	if got := push.Sign(vecToken, vecTimestamp, vecNonce, vecEncrypt); got != vecSignature {
		t.Fatalf("msg_signature %s, want %s", got, vecSignature)
	}
	if !push.Verify(strings.ToUpper(vecSignature), vecToken, vecTimestamp, vecNonce, vecEncrypt) {
		t.Fatal("upper-case hex signature refused")
	}
	if push.Verify(vecSignature, vecToken, vecTimestamp, vecNonce, vecEncrypt+"x") {
		t.Fatal("the signature verifies over another Encrypt")
	}
	k, err := push.ParseKey(vecKey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := push.Decrypt(k, vecAppID, vecEncrypt)
	if err != nil {
		t.Fatal(err)
	}
	// The sample's plaintext is the XML of a text message.
	if !bytes.HasPrefix(msg, []byte("<xml>")) || !bytes.HasSuffix(msg, []byte("</xml>")) ||
		!bytes.Contains(msg, []byte("<ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>")) {
		t.Fatalf("decrypted %q", msg)
	}
	if _, err := push.Decrypt(k, "wx0000000000000000", vecEncrypt); !errors.Is(err, push.ErrWrongApp) {
		t.Fatalf("another appid: %v, want ErrWrongApp", err)
	}
	// Our Encrypt is the inverse, and opens to the same layout.
	again, err := push.Encrypt(k, vecAppID, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again == vecEncrypt {
		t.Fatal("Encrypt used no random prefix")
	}
	if back, err := push.Decrypt(k, vecAppID, again); err != nil || !bytes.Equal(back, msg) {
		t.Fatalf("round trip: %v %q", err, back)
	}
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"", "short", vecKey + "H", vecKey[:42] + "=", vecKey[:42] + "!"} {
		if _, err := push.ParseKey(bad); !errors.Is(err, push.ErrBadKey) {
			t.Errorf("ParseKey(%q) = %v, want ErrBadKey", bad, err)
		}
	}
	k, _ := push.ParseKey(vecKey)
	if s := k.String() + k.GoString(); strings.Contains(s, vecKey) || !strings.Contains(s, "hidden") {
		t.Fatalf("a key prints as %q", s)
	}
}

// seal encrypts a hand-made plaintext with the vector's key, to forge
// paddings and lengths that Encrypt never makes.
func seal(t *testing.T, pt []byte) string {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(vecKey + "=")
	block, _ := aes.NewCipher(raw)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, raw[:16]).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(ct)
}

func plaintext(msg, appid string, pad int, padByte byte) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 16))
	binary.Write(&b, binary.BigEndian, uint32(len(msg)))
	b.WriteString(msg + appid)
	b.Write(bytes.Repeat([]byte{padByte}, pad))
	return b.Bytes()
}

func TestDecryptRefuses(t *testing.T) {
	k, _ := push.ParseKey(vecKey)
	msg := `{"MsgType":"event"}` // 19 bytes: 16+4+19+18 = 57
	good := plaintext(msg, vecAppID, 7, 7)
	if len(good)%32 != 0 {
		t.Fatalf("test plaintext of %d bytes", len(good))
	}
	if got, err := push.Decrypt(k, vecAppID, seal(t, good)); err != nil || string(got) != msg {
		t.Fatalf("hand-made good one: %v %q", err, got)
	}
	long := plaintext(msg, vecAppID, 7, 7)
	binary.BigEndian.PutUint32(long[16:], 1<<31)
	zero := append(plaintext(msg, vecAppID, 6, 6), 0) // last byte 0: padding 0
	big := plaintext(msg, vecAppID, 7+32, 39)         // padding 39 > 32
	mixed := plaintext(msg, vecAppID, 7, 7)
	mixed[len(mixed)-3] = 6 // not all padding bytes equal
	for name, enc := range map[string]string{
		"padding 0":         seal(t, zero),
		"padding over 32":   seal(t, big),
		"uneven padding":    seal(t, mixed),
		"length overruns":   seal(t, long),
		"not base64":        "%%%%",
		"empty":             "",
		"not whole blocks":  base64.StdEncoding.EncodeToString(make([]byte, 20)),
		"shorter than head": seal(t, bytes.Repeat([]byte{16}, 16)),
	} {
		if _, err := push.Decrypt(k, vecAppID, enc); !errors.Is(err, push.ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := push.Decrypt(k, "wx_other", seal(t, good)); !errors.Is(err, push.ErrWrongApp) {
		t.Errorf("other appid: %v", err)
	}
}

// FuzzOpen feeds arbitrary bodies and Encrypt fields to the receiver's
// decoder: it must refuse or decode, never panic, and anything it decodes
// in safe mode re-encrypts to the same message.
func FuzzOpen(f *testing.F) {
	k, _ := push.ParseKey(vecKey)
	f.Add([]byte(`{"ToUserName":"gh_1","Encrypt":"`+vecEncrypt+`"}`), true)
	f.Add([]byte(`{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1,"MsgType":"event","Event":"subscribe_msg_popup_event","List":{"TemplateId":"T","SubscribeStatusString":"accept","PopupScene":"0"}}`), false)
	f.Add([]byte(`{"MsgType":"event","Event":"e","CreateTime":"12","List":[{"TemplateId":"T","ErrorCode":"43101","MsgID":123456789012345678}]}`), false)
	f.Add([]byte(`{"Encrypt":"AAAA"}`), true)
	f.Add([]byte(`<xml></xml>`), false)
	f.Fuzz(func(t *testing.T, body []byte, safe bool) {
		o := push.Options{Token: vecToken, AppID: vecAppID}
		q := push.Query{Timestamp: vecTimestamp, Nonce: vecNonce}
		if safe {
			o.Key = k
			var env struct{ Encrypt string }
			_ = jsonUnmarshal(body, &env)
			q.EncryptType, q.MsgSignature = "aes", push.Sign(vecToken, vecTimestamp, vecNonce, env.Encrypt)
		} else {
			q.Signature = push.Sign(vecToken, vecTimestamp, vecNonce)
		}
		ev, err := push.New(nil, o).Open(q, body)
		if err != nil {
			return
		}
		if ev.MsgType == "" {
			t.Fatalf("decoded an event without MsgType from %q", body)
		}
		if _, err := ev.Templates(); err != nil && ev.Event == "subscribe_msg_popup_event" {
			_ = err // a malformed List is the handler's to refuse
		}
		_ = push.MessageKey(ev.Raw)
	})
}

// FuzzDecrypt opens arbitrary ciphertexts (whole AES blocks, so that the
// padding, length and appid checks run on every input): it refuses or
// returns a message that re-encrypts and opens to itself.
func FuzzDecrypt(f *testing.F) {
	k, _ := push.ParseKey(vecKey)
	ct, _ := base64.StdEncoding.DecodeString(vecEncrypt)
	f.Add(ct)
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, ct []byte) {
		msg, err := push.Decrypt(k, vecAppID, base64.StdEncoding.EncodeToString(ct))
		if err != nil {
			if !errors.Is(err, push.ErrDecrypt) && !errors.Is(err, push.ErrWrongApp) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		enc, err := push.Encrypt(k, vecAppID, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := push.Decrypt(k, vecAppID, enc); err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("round trip of %q: %v", msg, err)
		}
	})
}
