package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/minifn/minifn/shared/apperr"
)

// MaxBody is the largest request body the contract accepts.
const MaxBody = 64 << 10

var (
	ErrBodyTooLarge = apperr.New(apperr.TooLarge, "body_too_large", "the request body is over 64 KiB")
	ErrNotJSON      = apperr.New(apperr.UnsupportedMedia, "unsupported_media_type", "the request body must be application/json")
)

// ReadBody reads the whole body, refusing more than MaxBody bytes.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, apperr.Invalidf("could not read the request body")
	}
	if len(b) > MaxBody {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// Decode reads a JSON body into v. A missing Content-Type is accepted (some
// clients omit it); any other media type than application/json is refused.
// Unknown fields are ignored: clients may send more than we read (prices,
// say), and we never trust it.
func Decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return ErrNotJSON
		}
	}
	b, err := ReadBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return apperr.Invalidf("the request body is empty; a JSON object is expected")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError names the offending field where encoding/json tells it.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return apperr.Invalidf("field %q must be a JSON %s", te.Field, jsonType(te.Type.Kind().String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return apperr.Invalidf("malformed JSON at byte %d", se.Offset)
	}
	return apperr.Invalidf("malformed JSON body")
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "string":
		return "string"
	case kind == "bool":
		return "boolean"
	case kind == "slice", kind == "array":
		return "array"
	default:
		return "object"
	}
}

// JSON writes v with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// MarkReplayed tells the client that the answer is the first one, replayed
// for a repeated Idempotency-Key.
func MarkReplayed(w http.ResponseWriter, replayed bool) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
}

// IntParam reads an optional integer query parameter within [lo, hi]; def
// when it is absent, 400 invalid_request naming it when it is out of range.
func IntParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, apperr.Invalidf("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}
