package scene

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// Scene lengths: the first try, the step of each extension, the longest.
const (
	MinLen  = 12
	stepLen = 4
	MaxLen  = wechat.MaxSceneLen
)

// Limits on what a scene may stand for, so that a scene record stays small.
const (
	MaxParams    = 10
	MaxKeyLen    = 32
	MaxValueLen  = 128
	MaxPageLen   = 128
	MaxCanonical = 1024
)

// Params are what a page receives through its scene.
type Params map[string]string

// Entry is what a scene stands for.
type Entry struct {
	Page   string `json:"page"`
	Params Params `json:"params"`
}

var (
	// ErrNotFound is returned by Lookup for a scene never made here.
	ErrNotFound = apperr.New(apperr.NotFound, "scene_not_found", "no such scene")
	// ErrExhausted is returned when every length of a scene is taken by other
	// params (practically impossible: 2^71 values at the first length).
	ErrExhausted = apperr.New(apperr.Conflict, "scene_exhausted", "no free scene for these params")
)

// validPage reports whether page is slash-separated segments of letters,
// digits, _ and - (and . after the first), as a Mini-Program page path is.
func validPage(page string) bool {
	for i, seg := range strings.Split(page, "/") {
		extra := "_-."
		if i == 0 {
			extra = "_-"
		}
		if !ident.Valid(seg, 1, len(seg), extra) {
			return false
		}
	}
	return true
}

// Validate checks the page and params against the limits above.
func (e Entry) Validate() error {
	if e.Page != "" && (len(e.Page) > MaxPageLen || !validPage(e.Page)) {
		return apperr.Invalidf(`field "page" must be a page path such as pages/index/index: no leading '/', no query, at most %d characters`, MaxPageLen)
	}
	if len(e.Params) > MaxParams {
		return apperr.Invalidf(`field "params" holds more than %d keys`, MaxParams)
	}
	for k, v := range e.Params {
		if !ident.Valid(k, 1, MaxKeyLen, "_-") {
			return apperr.Invalidf(`field "params": key %q must be 1 to %d characters of [A-Za-z0-9_-]`, trim(k), MaxKeyLen)
		}
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxValueLen {
			return apperr.Invalidf(`field "params.%s" must be UTF-8 text of at most %d characters`, k, MaxValueLen)
		}
	}
	return nil
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// canonical is the stored form of e: JSON with sorted keys, params never null.
func (e Entry) canonical() ([]byte, error) {
	if e.Params == nil {
		e.Params = Params{}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxCanonical {
		return nil, apperr.Invalidf(`fields "page" and "params" together are over %d bytes`, MaxCanonical)
	}
	return b, nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// derive returns MaxLen characters of base62 drawn from the SHA-256 of
// canon: each scene length is a prefix of it. (The modulo bias of 256 % 62
// costs a fraction of a bit per character; 12 characters still hold about
// 70 bits.)
func derive(canon []byte) string {
	h := sha256.Sum256(canon)
	out := make([]byte, MaxLen)
	for i := range out {
		out[i] = base62[int(h[i])%len(base62)]
	}
	return string(out)
}

func entryKey(scene string) store.Key { return store.Key{PK: "scene#" + scene, SK: "entry"} }

// Encode returns the scene of (page, params), storing scene → params the
// first time. The same page and params always give the same scene. Returns
// invalid_request for params over the limits, ErrExhausted, store errors.
func (s *Service) Encode(ctx context.Context, e Entry) (string, error) {
	sc, _, err := s.encode(ctx, e, true)
	return sc, err
}

// find returns the scene already stored for e ("" if there is none yet)
// without writing anything.
func (s *Service) find(ctx context.Context, e Entry) (string, error) {
	sc, _, err := s.encode(ctx, e, false)
	return sc, err
}

// encode walks the scene lengths of e's hash; with write, it claims the
// first free one.
func (s *Service) encode(ctx context.Context, e Entry, write bool) (string, bool, error) {
	if err := e.Validate(); err != nil {
		return "", false, err
	}
	canon, err := e.canonical()
	if err != nil {
		return "", false, err
	}
	h := derive(canon)
	for n := MinLen; n <= MaxLen; n += stepLen {
		sc := h[:n]
		held, err := s.holder(ctx, sc)
		if err != nil {
			return "", false, err
		}
		switch {
		case held == nil && !write:
			return "", false, nil
		case held == nil:
			err := s.st.Write(ctx, store.Put(store.Item{Key: entryKey(sc), Value: canon}).IfAbsent())
			if err == nil {
				return sc, true, nil
			}
			if !errors.Is(err, store.ErrConditionFailed) {
				return "", false, err
			}
			// Someone stored this scene just now: maybe for the same params.
			if held, err = s.holder(ctx, sc); err != nil {
				return "", false, err
			}
		}
		if string(held) == string(canon) {
			return sc, false, nil
		}
		// Another (page, params) holds this scene: try a longer one.
	}
	return "", false, ErrExhausted
}

// holder returns the canonical entry stored under sc, or nil.
func (s *Service) holder(ctx context.Context, sc string) ([]byte, error) {
	it, err := s.st.Get(ctx, entryKey(sc))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return it.Value, nil
}

// Lookup returns what scene stands for. Returns ErrNotFound (also for a
// string that cannot be a scene), store errors.
func (s *Service) Lookup(ctx context.Context, scene string) (Entry, error) {
	if !wechat.ValidScene(scene) {
		return Entry{}, ErrNotFound
	}
	b, err := s.holder(ctx, scene)
	if err != nil {
		return Entry{}, err
	}
	if b == nil {
		return Entry{}, ErrNotFound
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("scene: corrupt entry %s: %w", scene, err)
	}
	return e, nil
}
