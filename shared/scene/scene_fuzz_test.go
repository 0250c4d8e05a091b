package scene_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/store/bolt"
	"github.com/minifn/minifn/shared/wechat"
)

func fuzzService(f *testing.F) *scene.Service {
	st, err := bolt.Open(filepath.Join(f.TempDir(), "scene.db"), bolt.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	return scene.New(st, scene.Options{})
}

// FuzzSceneRoundTrip encodes arbitrary pages and params into scenes and
// decodes them back (GET /scenes/{scene}): whatever Encode accepts comes
// back equal from Lookup, the scene is a valid wxacode scene, and what it
// refuses is a 400. Lookup of arbitrary strings is ErrNotFound or an entry,
// never a panic or another error.
//
//	go test ./shared/scene -run '^$' -fuzz FuzzSceneRoundTrip -fuzztime 30s
func FuzzSceneRoundTrip(f *testing.F) {
	svc := fuzzService(f)
	ctx := context.Background()
	f.Add("pages/index/index", "cid", "cmp_1", "ref", "u1", "x")
	f.Add("pages/goods/detail", "sku", "latte", "", "", "0123456789AB")
	f.Add("/pages/x?y=1", "k", "\xff", "k2", "中文", "%%%%")
	f.Add("", "", "", "a-b_c", "v", "abcdefghijklmnopqrstuvwxyz0123456789ABCDE")
	f.Fuzz(func(t *testing.T, page, k1, v1, k2, v2, probe string) {
		e := scene.Entry{Page: page, Params: scene.Params{}}
		if k1 != "" {
			e.Params[k1] = v1
		}
		if k2 != "" {
			e.Params[k2] = v2
		}
		sc, err := svc.Encode(ctx, e)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("Encode(%+v) = %v; want a result or invalid_request", e, err)
			}
		} else {
			if !wechat.ValidScene(sc) {
				t.Fatalf("Encode gave %q, not a valid scene", sc)
			}
			got, err := svc.Lookup(ctx, sc)
			if err != nil || got.Page != e.Page || !maps.Equal(got.Params, e.Params) {
				t.Fatalf("Lookup(Encode(%+v)) = %+v, %v", e, got, err)
			}
		}
		if _, err := svc.Lookup(ctx, probe); err != nil && !errors.Is(err, scene.ErrNotFound) {
			t.Fatalf("Lookup(%q) = %v; want an entry or ErrNotFound", probe, err)
		}
	})
}
