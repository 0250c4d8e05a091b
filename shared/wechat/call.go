package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswer bounds what we read from WeChat (a QR code image is well under it).
const maxAnswer = 8 << 20

// envelope is the part every WeChat JSON answer may carry. A missing errcode
// means success (code2Session omits it).
type envelope struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// do sends one request to WeChat and returns the answer's Content-Type and
// body. Transport failures, timeouts and 5xx become ErrUnavailable. The URL
// never reaches an error: its query holds the secret or the access token.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte) (string, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return "", nil, ErrUnavailable.Wrap(c.redact(path, err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", nil, ErrUnavailable.WithMessage("WeChat did not answer in time or could not be reached").
			Wrap(c.redact(path, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return "", nil, ErrUnavailable.Wrap(c.redact(path, err))
	case len(data) > maxAnswer:
		return "", nil, ErrUnavailable.Wrap(fmt.Errorf("wechat %s: answer over %d bytes", path, maxAnswer))
	case resp.StatusCode >= 500:
		return "", nil, ErrUnavailable.Wrap(fmt.Errorf("wechat %s: HTTP %d", path, resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return "", nil, ErrWeChat.WithMessage("WeChat answered HTTP %d on %s", resp.StatusCode, path).
			Wrap(fmt.Errorf("wechat %s: HTTP %d", path, resp.StatusCode))
	}
	return resp.Header.Get("Content-Type"), data, nil
}

// redact turns a transport error into one that names the path but holds
// neither the URL (with its secret or token) nor, should any layer quote
// them, the secret or the token in use.
func (c *Client) redact(path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	for _, s := range c.secrets() {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	return fmt.Errorf("wechat %s: %s", path, msg)
}

// secrets lists the strings no error may hold.
func (c *Client) secrets() []string {
	out := make([]string, 0, 2)
	if c.secret != "" {
		out = append(out, c.secret)
	}
	if tok := c.memoToken(); tok != "" {
		out = append(out, tok)
	}
	return out
}

// decodeJSON checks the errcode of a JSON answer and decodes it into out.
// Content-Type is not checked: code2Session labels its JSON text/plain.
func (c *Client) decodeJSON(path string, data []byte, out any) error {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return ErrUnavailable.WithMessage("WeChat answered something that is not JSON").
			Wrap(fmt.Errorf("wechat %s: %d bytes, not JSON", path, len(data)))
	}
	if env.Errcode != 0 {
		return errcodeError(&APIError{Path: path, Errcode: env.Errcode, Errmsg: c.scrub(env.Errmsg)})
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return ErrUnavailable.WithMessage("WeChat's answer has an unexpected shape").
			Wrap(fmt.Errorf("wechat %s: %s", path, c.scrub(err.Error())))
	}
	return nil
}

func (c *Client) scrub(s string) string {
	for _, sec := range c.secrets() {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}

// postJSON calls an authenticated JSON API: POST {base}{path}?access_token=…
// with body as JSON, decoding the answer into out (nil: only check errcode).
func (c *Client) postJSON(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("wechat %s: encoding the request: %w", path, err)
	}
	return c.authed(ctx, path, b, func(_ string, data []byte) error {
		return c.decodeJSON(path, data, out)
	})
}

// postForBytes calls an authenticated API that answers with bytes (an image)
// on success and JSON {errcode, errmsg} on failure, told apart by the
// Content-Type: JSON or text means an error answer, anything else is the data.
func (c *Client) postForBytes(ctx context.Context, path string, body any) (contentType string, data []byte, err error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", nil, fmt.Errorf("wechat %s: encoding the request: %w", path, err)
	}
	err = c.authed(ctx, path, b, func(ct string, d []byte) error {
		if isJSONOrText(ct) {
			if err := c.decodeJSON(path, d, nil); err != nil {
				return err
			}
			return ErrWeChat.WithMessage("WeChat answered JSON without an errcode on %s", path)
		}
		contentType, data = ct, d
		return nil
	})
	return contentType, data, err
}

func isJSONOrText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType == "" // no type at all: look at it as JSON
	}
	return mt == "application/json" || strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json")
}

// authed sends body to path with the shared access token and hands the
// answer to handle. When WeChat rejects the token (40001/42001), it drops the
// cached token if it is still the one that failed and retries once.
func (c *Client) authed(ctx context.Context, path string, body []byte, handle func(contentType string, data []byte) error) error {
	for attempt := 0; ; attempt++ {
		ref, err := c.token(ctx)
		if err != nil {
			return err
		}
		ct, data, err := c.do(ctx, http.MethodPost, path, url.Values{"access_token": {ref.token}}, body)
		if err == nil {
			err = handle(ct, data)
		}
		if attempt == 0 && isTokenRejected(err) {
			c.dropToken(ctx, ref)
			continue
		}
		return err
	}
}

func isTokenRejected(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && tokenRejected[ae.Errcode]
}
