package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const authScheme = "WECHATPAY2-SHA256-RSA2048"

// apiError is WeChat Pay's error answer.
type apiError struct {
	status  int
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Detail  *errorDetail `json:"detail,omitempty"`
}

type errorDetail struct {
	Field    string `json:"field,omitempty"`
	Location string `json:"location,omitempty"`
	Issue    string `json:"issue,omitempty"`
	// SIGN_ERROR's shape: the issue one level down, and the message the
	// server verified (a real answer is quoted in WECHAT-PROTOCOLS.md §1.6).
	Detail *struct {
		Issue string `json:"issue"`
	} `json:"detail,omitempty"`
	SignInformation *signInformation `json:"sign_information,omitempty"`
}

// signInformation is what WeChat Pay tells about the message it verified,
// so that a client can compare it with the one it signed.
type signInformation struct {
	Method               string `json:"method"`
	URL                  string `json:"url"`
	SignMessageLength    int    `json:"sign_message_length"`
	TruncatedSignMessage string `json:"truncated_sign_message"`
}

// maxSignEcho bounds truncated_sign_message (WeChat Pay's cut is not
// documented; a body may be large).
const maxSignEcho = 512

func errorf(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

// paramError is a 400 PARAM_ERROR naming a body field, as WeChat Pay's are.
func paramError(field, issue string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "参数错误: " + field + " " + issue,
		Detail: &errorDetail{Field: field, Location: "body", Issue: issue}}
}

// call is an authenticated merchant request.
type call struct {
	r     *http.Request
	mchid string
	m     Merchant
	body  []byte
}

// v3 wraps an API handler: it verifies the merchant's signature and signs
// whatever the handler answers. h returns a status and a JSON value, an
// *apiError, or nil for no body.
func (e *Emulator) v3(h func(c call) (int, any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.responseSigner(r)
		c, aerr := e.authenticate(r)
		if aerr != nil {
			e.reply(w, aerr.status, aerr, s)
			return
		}
		status, v := h(c)
		if ae, ok := v.(*apiError); ok {
			status = ae.status
		}
		e.reply(w, status, v, s)
	})
}

// authenticate checks the Authorization header (WECHATPAY2-SHA256-RSA2048
// mchid,nonce_str,timestamp,serial_no,signature) against the merchant's
// public key over "METHOD\nURL\ntimestamp\nnonce\nbody\n".
func (e *Emulator) authenticate(r *http.Request) (call, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return call{}, errorf(http.StatusBadRequest, "INVALID_REQUEST", "无法读取请求体")
	}
	a := map[string]string{}
	msg := func() string {
		return r.Method + "\n" + r.URL.RequestURI() + "\n" + a["timestamp"] + "\n" + a["nonce_str"] + "\n" + string(body) + "\n"
	}
	signErr := func(issue string) (call, *apiError) {
		m := msg()
		d := &errorDetail{Field: "signature", Location: "authorization", Detail: &struct {
			Issue string `json:"issue"`
		}{issue}, SignInformation: &signInformation{Method: r.Method, URL: r.URL.RequestURI(),
			SignMessageLength: len(m), TruncatedSignMessage: m[:min(len(m), maxSignEcho)]}}
		return call{}, &apiError{status: http.StatusUnauthorized, Code: "SIGN_ERROR", Message: "错误的签名，验签失败", Detail: d}
	}
	scheme, params, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || scheme != authScheme {
		return signErr("Authorization must use " + authScheme)
	}
	for _, kv := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return signErr("malformed Authorization parameter")
		}
		a[k] = v[1 : len(v)-1]
	}
	m, ok := e.opts.Merchants[a["mchid"]]
	switch {
	case a["nonce_str"] == "" || a["signature"] == "":
		return signErr("nonce_str and signature are required")
	case !ok:
		return signErr("unknown mchid")
	case !strings.EqualFold(a["serial_no"], m.CertSerial):
		// A serial is hex; clients send it in either case (§1.6).
		return signErr("serial_no is not the merchant's certificate")
	}
	ts, err := strconv.ParseInt(a["timestamp"], 10, 64)
	if err != nil {
		return signErr("timestamp is not a number")
	}
	if d := e.now().Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return signErr("timestamp is too far from the server time")
	}
	sig, err := base64.StdEncoding.DecodeString(a["signature"])
	if err != nil {
		return signErr("signature is not base64")
	}
	sum := sha256.Sum256([]byte(msg()))
	if rsa.VerifyPKCS1v15(m.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return signErr("sign not match")
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			return call{}, errorf(http.StatusBadRequest, "INVALID_REQUEST", "Content-Type 必须为 application/json")
		}
	}
	return call{r: r, mchid: a["mchid"], m: m, body: body}, nil
}

var mchidParam = regexp.MustCompile(`mchid="([^"]*)"`)

// responseSigner picks the key an answer to r is signed with: the public
// key when r says it verifies with it (Wechatpay-Serial: PUB_KEY_ID_…, as
// WeChat Pay does during a switch), else the caller's mode.
func (e *Emulator) responseSigner(r *http.Request) signer {
	mode := ModePublicKey
	if m, ok := e.opts.Merchants[mchidParam.FindStringSubmatch(r.Header.Get("Authorization") + `mchid=""`)[1]]; ok &&
		r.Header.Get("Wechatpay-Serial") != e.keyID {
		mode = m.Mode
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.signerLocked(Merchant{}, mode)
}

// reply writes status and v (nil: no body) signed by s.
func (e *Emulator) reply(w http.ResponseWriter, status int, v any, s signer) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v) // our own types always marshal
		w.Header().Set("Content-Type", "application/json")
	}
	for k, vs := range e.signedHeaders(body, e.now(), s) {
		w.Header()[k] = vs
	}
	w.Header().Set("Request-ID", randomString(32))
	w.WriteHeader(status)
	w.Write(body)
}

// signedHeaders returns the Wechatpay-* headers for body at time at, signed by s.
func (e *Emulator) signedHeaders(body []byte, at time.Time, s signer) http.Header {
	ts, nonce := strconv.FormatInt(at.Unix(), 10), randomString(32)
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", s.serial)
	h.Set("Wechatpay-Signature", s.sign(ts+"\n"+nonce+"\n"+string(body)+"\n"))
	return h
}

func (s signer) sign(msg string) string {
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		panic("emulator: signing failed: " + err.Error()) // only with a broken key, which New rules out
	}
	return base64.StdEncoding.EncodeToString(sig)
}
