package scene

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/storetest"
)

func each(t *testing.T, f func(t *testing.T, st store.Store, clk *storetest.Clock)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := storetest.NewClock(storetest.Epoch)
			f(t, b.Open(t, clk.Now), clk)
		})
	}
}

// wechatScene is WeChat's documented rule for a scene.
var wechatScene = regexp.MustCompile(`^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$`)

func TestSceneRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ *storetest.Clock) {
		s := New(st, Options{})
		ctx := context.Background()
		cases := []Entry{
			{Page: "pages/product/detail", Params: Params{"sku": "tea-01", "campaign": "双十一", "ref": "o123&x=%20"}},
			{Page: "pages/index/index"},
			{Page: "", Params: Params{"a": strings.Repeat("长", MaxValueLen)}},
		}
		seen := map[string]bool{}
		for _, e := range cases {
			sc, err := s.Encode(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			if !wechatScene.MatchString(sc) || len(sc) != MinLen {
				t.Errorf("scene %q breaks WeChat's rule or is not %d long", sc, MinLen)
			}
			if seen[sc] {
				t.Errorf("scene %q given twice", sc)
			}
			seen[sc] = true
			// The same params, in another map, give the same scene.
			again := Entry{Page: e.Page, Params: Params{}}
			for k, v := range e.Params {
				again.Params[k] = v
			}
			if sc2, _ := s.Encode(ctx, again); sc2 != sc {
				t.Errorf("same params: %q then %q", sc, sc2)
			}
			got, err := s.Lookup(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Page != e.Page || len(got.Params) != len(e.Params) {
				t.Fatalf("lookup %q: %+v, want %+v", sc, got, e)
			}
			for k, v := range e.Params {
				if got.Params[k] != v {
					t.Errorf("param %s = %q, want %q", k, got.Params[k], v)
				}
			}
		}
		for _, bad := range []string{"", "nope", "has%percent", strings.Repeat("a", 33)} {
			if _, err := s.Lookup(ctx, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("Lookup(%q): %v", bad, err)
			}
		}
	})
}

func TestSceneCollisionExtends(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ *storetest.Clock) {
		s := New(st, Options{})
		ctx := context.Background()
		e := Entry{Page: "pages/a/a", Params: Params{"x": "1"}}
		canon, _ := e.canonical()
		h := derive(canon)
		// Other params already hold the first two lengths of e's hash.
		for _, n := range []int{MinLen, MinLen + stepLen} {
			st.Write(ctx, store.Put(store.Item{Key: entryKey(h[:n]), Value: []byte(`{"page":"other","params":{}}`)}))
		}
		sc, err := s.Encode(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if sc != h[:MinLen+2*stepLen] {
			t.Fatalf("scene %q, want the 20-character extension %q", sc, h[:MinLen+2*stepLen])
		}
		if again, _ := s.Encode(ctx, e); again != sc {
			t.Errorf("not deterministic after a collision: %q then %q", sc, again)
		}
		if got, _ := s.Lookup(ctx, h[:MinLen]); got.Page != "other" {
			t.Errorf("the colliding entry was overwritten: %+v", got)
		}
	})
}

func TestSceneConcurrentEncodeAgrees(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ *storetest.Clock) {
		s := New(st, Options{})
		var wg sync.WaitGroup
		got := make([]string, 32)
		for i := range got {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				sc, err := s.Encode(context.Background(), Entry{Page: "pages/p/p", Params: Params{"k": "v"}})
				if err != nil {
					t.Error(err)
				}
				got[i] = sc
			}(i)
		}
		wg.Wait()
		for _, sc := range got {
			if sc != got[0] || sc == "" {
				t.Fatalf("scenes differ: %v", got)
			}
		}
	})
}

func TestParamsBounds(t *testing.T) {
	s := New(nil, Options{})
	many := Params{}
	for i := 0; i <= MaxParams; i++ {
		many[fmt.Sprint("k", i)] = "v"
	}
	for name, e := range map[string]Entry{
		"leading slash": {Page: "/pages/a"},
		"query":         {Page: "pages/a?x=1"},
		"too many":      {Page: "pages/a", Params: many},
		"bad key":       {Page: "pages/a", Params: Params{"a b": "1"}},
		"long value":    {Page: "pages/a", Params: Params{"a": strings.Repeat("x", MaxValueLen+1)}},
		"long page":     {Page: strings.Repeat("p", MaxPageLen+1)},
	} {
		if _, err := s.Encode(context.Background(), e); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
