package points

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/store"
)

// RewardInput is an admin's new reward.
type RewardInput struct {
	Title  string `json:"title"`
	Points int64  `json:"points"`
	Stock  int64  `json:"stock"`
}

// Validate checks the input's fields.
func (in RewardInput) Validate() error {
	switch {
	case strings.TrimSpace(in.Title) == "" || utf8.RuneCountInString(in.Title) > MaxTitle:
		return apperr.Invalidf(`field "title" must be 1 to %d characters`, MaxTitle)
	case in.Points < 1 || in.Points > MaxRewardCost:
		return apperr.Invalidf(`field "points" must be 1 to %d`, MaxRewardCost)
	case in.Stock < 0 || in.Stock > MaxStock:
		return apperr.Invalidf(`field "stock" must be 0 to %d`, MaxStock)
	}
	return nil
}

// CreateReward adds a reward to the catalog; its stock is the item's
// counter. With an idemKey seen before (from the admin) it creates nothing
// and returns the first reward, replayed. Returns invalid_request,
// idem.ErrKeyReused, store errors.
func (s *Service) CreateReward(ctx context.Context, in RewardInput, idemKey string) (r Reward, replayed bool, err error) {
	if err := in.Validate(); err != nil {
		return Reward{}, false, err
	}
	ik, err := idem.New(IdemReward, "admin", idemKey, in)
	if err != nil {
		return Reward{}, false, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return replayReward(b, err)
	}
	now := s.now()
	r = Reward{ID: "rw" + newID(now), Title: in.Title, Points: in.Points, Stock: in.Stock, CreatedAt: now}
	b, _ := json.Marshal(r)
	ops := []store.Op{store.Put(store.Item{Key: rewardKey(r.ID), Value: b, N: in.Stock}).IfAbsent()}
	if !ik.IsZero() {
		ops = append(ops, ik.Op(b, now))
	}
	err = s.st.Write(ctx, ops...)
	if store.FailedOp(err) == 1 {
		b, _, err := ik.Lookup(ctx, s.st)
		return replayReward(b, err)
	}
	return r, false, err
}

func replayReward(b []byte, err error) (Reward, bool, error) {
	if err != nil {
		return Reward{}, false, err
	}
	var r Reward
	if err := json.Unmarshal(b, &r); err != nil {
		return Reward{}, false, fmt.Errorf("points: corrupt idempotency record: %w", err)
	}
	return r, true, nil
}

// Rewards lists the catalog with the remaining stock of each.
func (s *Service) Rewards(ctx context.Context) ([]Reward, error) {
	items, _, err := s.st.Query(ctx, "reward#catalog", store.Query{Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]Reward, 0, len(items))
	for _, it := range items {
		r, err := decodeReward(it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeReward(it store.Item) (Reward, error) {
	var r Reward
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return Reward{}, fmt.Errorf("points: corrupt reward %s: %w", it.Key, err)
	}
	r.Stock = it.N
	return r, nil
}

// Redeemed is the outcome of Redeem.
type Redeemed struct {
	Redemption Redemption `json:"redemption"`
	Balance    int64      `json:"balance"`
	Replayed   bool       `json:"-"`
}

// Redeem takes one of the reward for its points, in one Write: the balance
// and the stock are decremented only if neither goes below zero. Returns
// ErrRewardNotFound, ErrInsufficient, ErrNegativeBalance, ErrOutOfStock,
// store errors.
func (s *Service) Redeem(ctx context.Context, openid, rewardID, idemKey string) (Redeemed, error) {
	if err := idem.Check(idemKey); err != nil {
		return Redeemed{}, err
	}
	if rewardID == "" || len(rewardID) > 64 {
		return Redeemed{}, apperr.Invalidf(`field "reward_id" is required`)
	}
	ik, err := idem.New(IdemRedeem, openid, idemKey, rewardID)
	if err != nil {
		return Redeemed{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return s.replayRedeem(ctx, openid, b, err)
	}
	it, err := s.st.Get(ctx, rewardKey(rewardID))
	if errors.Is(err, store.ErrNotFound) {
		return Redeemed{}, ErrRewardNotFound
	}
	if err != nil {
		return Redeemed{}, err
	}
	rw, err := decodeReward(it)
	if err != nil {
		return Redeemed{}, err
	}
	now := s.now()
	red := Redemption{ID: "rd" + newID(now), RewardID: rw.ID, Title: rw.Title, Points: rw.Points, At: now}
	entry, _ := s.entryOp(openid, Entry{Delta: -rw.Points, Reason: ReasonRedeem, Ref: red.ID, At: now})
	// Stock first: when both fail, "out of stock" is the answer that tells
	// the user saving points will not help.
	ops := []store.Op{
		store.Add(rewardKey(rw.ID), -1).IfExists().AtLeast(0),
		store.Add(balanceKey(openid), -rw.Points).AtLeast(0),
		entry,
	}
	if !ik.IsZero() {
		rec, _ := json.Marshal(red)
		ops = append(ops, ik.Op(rec, now))
	}
	err = s.st.Write(ctx, ops...)
	switch i := store.FailedOp(err); {
	case err == nil:
	case i == 0:
		return Redeemed{}, ErrOutOfStock
	case i == 1:
		if bal, err := s.Balance(ctx, openid); err == nil && bal < 0 {
			return Redeemed{}, ErrNegativeBalance
		}
		return Redeemed{}, ErrInsufficient
	case i == 3:
		b, _, err := ik.Lookup(ctx, s.st)
		return s.replayRedeem(ctx, openid, b, err)
	default:
		return Redeemed{}, err
	}
	bal, err := s.Balance(ctx, openid)
	return Redeemed{Redemption: red, Balance: bal}, err
}

func (s *Service) replayRedeem(ctx context.Context, openid string, b []byte, err error) (Redeemed, error) {
	if err != nil {
		return Redeemed{}, err
	}
	var red Redemption
	if err := json.Unmarshal(b, &red); err != nil {
		return Redeemed{}, fmt.Errorf("points: corrupt idempotency record: %w", err)
	}
	bal, err := s.Balance(ctx, openid)
	return Redeemed{Redemption: red, Balance: bal, Replayed: true}, err
}
