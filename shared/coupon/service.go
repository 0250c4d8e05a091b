package coupon

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/store"
)

// DefaultCacheTTL is how long a campaign definition is reused in-process.
const DefaultCacheTTL = time.Second

// Options configure a Service.
type Options struct {
	Now      func() time.Time // the clock; time.Now when nil
	CacheTTL time.Duration    // campaign definition cache; DefaultCacheTTL when 0, none when negative
	Staff    Staff            // who may redeem at a counter (outlet.Service); nil: nobody but the admin
}

// Service holds campaigns, claims, coupons and redemptions on a store.
// It is safe for concurrent use.
type Service struct {
	st       store.Store
	now      func() time.Time
	cacheTTL time.Duration
	staff    Staff

	mu    sync.Mutex
	defs  map[string]cachedCampaign // campaign definitions, briefly
	empty map[string][]bool         // per campaign: shards seen at 0 (stock never grows back)
}

type cachedCampaign struct {
	c  Campaign
	at time.Time
}

// New returns a Service on st.
func New(st store.Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	return &Service{st: st, now: opts.Now, cacheTTL: opts.CacheTTL, staff: opts.Staff,
		defs: map[string]cachedCampaign{}, empty: map[string][]bool{}}
}

// Keys; see the package doc for the layout.

func campaignKey(id string) store.Key { return store.Key{PK: "campaign#all", SK: id} }

func stockKey(campaignID string, shard int) store.Key {
	return store.Key{PK: "campaign#" + campaignID + "#stock#" + strconv.Itoa(shard), SK: "stock"}
}

func userPK(openid string) string { return "coupon#" + openid }

func couponKey(openid, couponID string) store.Key {
	return store.Key{PK: userPK(openid), SK: couponPrefix + couponID}
}

const couponPrefix = "coupon#"

func countKey(openid, campaignID string) store.Key {
	return store.Key{PK: userPK(openid), SK: "count#" + campaignID}
}

func codeKey(code string) store.Key { return store.Key{PK: "code#" + code, SK: "code"} }

// get reads the item at k into v (JSON) and returns its version.
func (s *Service) get(ctx context.Context, k store.Key, v any) (int64, error) {
	it, err := s.st.Get(ctx, k)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return 0, errors.Join(errors.New("coupon: corrupt item "+k.String()), err)
	}
	return it.Version, nil
}

// shardEmpty reports whether shard i of campaign id was seen at 0.
func (s *Service) shardEmpty(id string, i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.empty[id]
	return e != nil && e[i]
}

func (s *Service) markEmpty(id string, shards, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.empty[id]
	if e == nil {
		e = make([]bool, shards)
		s.empty[id] = e
	}
	e[i] = true
}

// allEmpty reports whether every shard of campaign id was seen at 0.
func (s *Service) allEmpty(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.empty[id]
	if e == nil {
		return false
	}
	for _, v := range e {
		if !v {
			return false
		}
	}
	return true
}
