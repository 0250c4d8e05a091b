package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
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
		return decodeError(err, b, v)
	}
	return nil
}

// decodeError names the offending field where encoding/json tells it: its
// path with array indexes (items[0].quantity, found from the error's offset,
// since encoding/json's Field drops indexes), what is wanted (a `want` struct
// tag where the type alone says too little, e.g. "an integer 1 to 99"), and
// what came.
func decodeError(err error, body []byte, v any) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		path := valuePath(body, te.Offset)
		if path == "" {
			path = te.Field
		}
		want := fieldWant(reflect.TypeOf(v), strings.Split(te.Field, "."))
		if want == "" {
			want = jsonType(te.Type.Kind())
		}
		return apperr.Invalidf("field %q must be %s (got %s)", path, want, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return apperr.Invalidf("malformed JSON at byte %d", se.Offset)
	}
	return apperr.Invalidf("malformed JSON body")
}

// valuePath returns the path (a.b[2].c) of the value of body that ends at
// offset, or of the object or array that opens there: where encoding/json
// reports a type error. It returns "" when body does not tokenize that far.
func valuePath(body []byte, offset int64) string {
	type frame struct {
		array   bool
		n       int    // arrays: the index of the next element
		key     string // objects: the key of the current member
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.n) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		return b.String()
	}
	done := func() { // a value ended: move its parent on
		if len(stack) > 0 {
			if top := &stack[len(stack)-1]; top.array {
				top.n++
			} else {
				top.wantKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey {
			if k, ok := tok.(string); ok {
				stack[len(stack)-1].key, stack[len(stack)-1].wantKey = k, false
				continue
			}
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		if dec.InputOffset() >= offset {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{array: true})
		default:
			done()
		}
	}
}

// fieldWant follows the JSON field names of path through t and returns the
// `want` tag of the last field, if any.
func fieldWant(t reflect.Type, path []string) string {
	var want string
	for _, name := range path {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		f, ok := jsonField(t, name)
		if !ok {
			return ""
		}
		t, want = f.Type, f.Tag.Get("want")
	}
	return want
}

// jsonField finds the field of struct t that encoding/json names name.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(t) {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonType(kind reflect.Kind) string {
	switch kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
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
		return 0, apperr.Invalidf("query parameter %q must be an integer %d to %d", name, lo, hi)
	}
	return n, nil
}
