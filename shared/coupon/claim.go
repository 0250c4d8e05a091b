package coupon

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"

	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// Indexes of the ops in a claim's Write.
const (
	opStock = iota
	opCount
	opCoupon
	opCode
	opStats // the day's claim counter (package stats)
	opIdem
)

// Claim gives openid one coupon of campaign campaignID. idemKey, if not
// empty, is the client's Idempotency-Key: a repeat returns the first coupon
// and replayed true, and creates nothing.
//
// Returns ErrCampaignNotFound, ErrNotStarted, ErrCampaignPaused,
// ErrCampaignEnded, ErrSoldOut or ErrLimitReached. A sold-out campaign and a
// user at the limit are refused without a write.
func (s *Service) Claim(ctx context.Context, openid, campaignID, idemKey string) (c Coupon, replayed bool, err error) {
	if openid == "" {
		return Coupon{}, false, ErrNoUser
	}
	ik, err := idem.New(IdemClaim, openid, idemKey, campaignID)
	if err != nil {
		return Coupon{}, false, err
	}
	if c, ok, err := s.replayClaim(ctx, ik); ok || err != nil {
		return c, ok, err
	}
	camp, err := s.campaign(ctx, campaignID)
	if err != nil {
		return Coupon{}, false, err
	}
	if err := camp.claimable(s.now()); err != nil {
		return Coupon{}, false, err
	}
	if err := s.underLimit(ctx, openid, camp); err != nil {
		return Coupon{}, false, err
	}
	// Each pass either succeeds, or learns that one more shard is empty (so
	// at most StockShards passes end in sold out), or met a random-id
	// collision, which in practice never happens twice.
	for range camp.StockShards + 3 {
		shard, err := s.pickShard(ctx, camp)
		if err != nil {
			return Coupon{}, false, err
		}
		c, ops := s.claimOps(camp, openid, shard, ik)
		err = s.st.Write(ctx, ops...)
		switch store.FailedOp(err) {
		case -1:
			if err != nil {
				return Coupon{}, false, err
			}
			return c, false, nil
		case opStock:
			s.markEmpty(camp.ID, camp.StockShards, shard)
		case opCount:
			return Coupon{}, false, ErrLimitReached
		case opIdem:
			if c, ok, err := s.replayClaim(ctx, ik); ok || err != nil {
				return c, ok, err
			}
			return Coupon{}, false, ErrBusy // the record vanished between the two calls
		}
	}
	return Coupon{}, false, ErrBusy
}

// underLimit refuses a user who already holds per_user_limit coupons of the
// campaign, with a read: the rush's repeated taps should cost no write.
func (s *Service) underLimit(ctx context.Context, openid string, camp Campaign) error {
	it, err := s.st.Get(ctx, countKey(openid, camp.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if it.N >= camp.PerUserLimit {
		return ErrLimitReached
	}
	return nil
}

// pickShard returns a random shard that had stock when read, or ErrSoldOut
// when every shard is 0. Shards known to be empty are skipped unread.
func (s *Service) pickShard(ctx context.Context, camp Campaign) (int, error) {
	n := camp.StockShards
	if s.allEmpty(camp.ID) {
		return 0, ErrSoldOut
	}
	start := rand.IntN(n)
	for i := range n {
		shard := (start + i) % n
		if s.shardEmpty(camp.ID, shard) {
			continue
		}
		it, err := s.st.Get(ctx, stockKey(camp.ID, shard))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		if err == nil && it.N > 0 {
			return shard, nil
		}
		s.markEmpty(camp.ID, n, shard)
	}
	return 0, ErrSoldOut
}

// claimOps returns a new coupon and the ops of the one Write that issues it;
// their order is opStock, opCount, opCoupon, opCode, opStats, opIdem.
func (s *Service) claimOps(camp Campaign, openid string, shard int, ik idem.Key) (Coupon, []store.Op) {
	now := s.now()
	code := newCode()
	from, until := camp.validity(now)
	c := Coupon{ID: newID(now), CampaignID: camp.ID, Title: camp.Title, Discount: camp.Discount,
		MinSpend: camp.MinSpend, Status: Usable, Code: FormatCode(code), ValidFrom: from.UTC(),
		ValidUntil: until.UTC(), ClaimedAt: now.UTC(), OpenID: openid, version: 1}
	cb, _ := json.Marshal(c)
	ref, _ := json.Marshal(codeRef{OpenID: openid, CouponID: c.ID})
	ops := []store.Op{
		opStock:  store.Add(stockKey(camp.ID, shard), -1).AtLeast(0),
		opCount:  store.Add(countKey(openid, camp.ID), 1).AtMost(camp.PerUserLimit),
		opCoupon: store.Put(store.Item{Key: couponKey(openid, c.ID), Value: cb}).IfAbsent(),
		opCode:   store.Put(store.Item{Key: codeKey(code), Value: ref}).IfAbsent(),
		opStats:  stats.Op(stats.CouponsClaimed, now, c.ID, 1),
	}
	if !ik.IsZero() {
		ops = append(ops, ik.Op(cb, now))
	}
	return c, ops
}

// codeRef is the value of a redemption-code index item.
type codeRef struct {
	OpenID   string `json:"openid"`
	CouponID string `json:"coupon_id"`
}

func (s *Service) replayClaim(ctx context.Context, ik idem.Key) (Coupon, bool, error) {
	b, ok, err := ik.Lookup(ctx, s.st)
	if err != nil || !ok {
		return Coupon{}, false, err
	}
	var c Coupon
	if err := json.Unmarshal(b, &c); err != nil {
		return Coupon{}, false, err
	}
	return c, true, nil
}
