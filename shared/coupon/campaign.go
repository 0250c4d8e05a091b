package coupon

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/store"
)

// Limits on a campaign.
const (
	MaxStock        = 10_000_000
	MaxStockShards  = 64
	MaxPerUserLimit = 100
	MaxValidDays    = 3650
	MaxAmountOff    = 100_000_000 // fen: one million yuan
)

// State is what an admin set a campaign to.
type State string

const (
	StateActive State = "active"
	StatePaused State = "paused"
	StateEnded  State = "ended"
)

// Status is what a campaign looks like to a user now: its State combined with
// the claim window and the stock.
const (
	StatusActive   = "active"
	StatusUpcoming = "upcoming" // before claim_starts_at
	StatusPaused   = "paused"
	StatusSoldOut  = "sold_out"
	StatusEnded    = "ended" // ended by an admin, or after claim_ends_at
)

// Discount is what a coupon takes off: AmountOff fen, or PercentOff percent
// of the subtotal capped at MaxOff fen (0: no cap).
type Discount struct {
	AmountOff  int64 `json:"amount_off,omitempty"`
	PercentOff int64 `json:"percent_off,omitempty"`
	MaxOff     int64 `json:"max_off,omitempty"`
}

// Off returns the discount on subtotal, never more than the subtotal.
func (d Discount) Off(subtotal int64) int64 {
	if subtotal <= 0 {
		return 0
	}
	off := d.AmountOff
	if d.PercentOff > 0 {
		off = subtotal * d.PercentOff / 100
		if d.MaxOff > 0 {
			off = min(off, d.MaxOff)
		}
	}
	return min(off, subtotal)
}

// Validate checks that exactly one kind of discount is set, within range.
func (d Discount) Validate() error {
	switch {
	case d.AmountOff != 0 && d.PercentOff != 0:
		return apperr.Invalidf(`field "discount": set amount_off or percent_off, not both`)
	case d.AmountOff != 0:
		if d.AmountOff < 1 || d.AmountOff > MaxAmountOff {
			return apperr.Invalidf(`field "discount.amount_off" must be 1 to %d fen`, MaxAmountOff)
		}
		if d.MaxOff != 0 {
			return apperr.Invalidf(`field "discount.max_off" goes only with percent_off`)
		}
	case d.PercentOff != 0:
		if d.PercentOff < 1 || d.PercentOff > 99 {
			return apperr.Invalidf(`field "discount.percent_off" must be 1 to 99`)
		}
		if d.MaxOff < 0 || d.MaxOff > MaxAmountOff {
			return apperr.Invalidf(`field "discount.max_off" must be 0 (no cap) to %d fen`, MaxAmountOff)
		}
	default:
		return apperr.Invalidf(`field "discount": amount_off or percent_off is required`)
	}
	return nil
}

// Campaign is a coupon campaign as stored.
type Campaign struct {
	ID            string     `json:"id"`
	Title         string     `json:"title"`
	Description   string     `json:"description,omitempty"`
	Discount      Discount   `json:"discount"`
	MinSpend      int64      `json:"min_spend"`
	Stock         int64      `json:"stock"`
	StockShards   int        `json:"stock_shards"`
	PerUserLimit  int64      `json:"per_user_limit"`
	ClaimStartsAt time.Time  `json:"claim_starts_at"`
	ClaimEndsAt   *time.Time `json:"claim_ends_at,omitempty"`
	ValidFrom     *time.Time `json:"valid_from,omitempty"`
	ValidUntil    *time.Time `json:"valid_until,omitempty"`
	ValidDays     int        `json:"valid_days,omitempty"`
	State         State      `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
}

// CampaignView is a campaign with its remaining stock and current status.
type CampaignView struct {
	Campaign
	Remaining int64  `json:"remaining"`
	Status    string `json:"status"`
}

// status returns what the campaign looks like at now.
func (c *Campaign) status(now time.Time, remaining int64) string {
	switch {
	case c.State == StateEnded || (c.ClaimEndsAt != nil && !now.Before(*c.ClaimEndsAt)):
		return StatusEnded
	case c.State == StatePaused:
		return StatusPaused
	case now.Before(c.ClaimStartsAt):
		return StatusUpcoming
	case remaining <= 0:
		return StatusSoldOut
	}
	return StatusActive
}

// claimable returns the error a claim at now meets, stock aside.
func (c *Campaign) claimable(now time.Time) error {
	switch c.status(now, 1) {
	case StatusEnded:
		return ErrCampaignEnded
	case StatusPaused:
		return ErrCampaignPaused
	case StatusUpcoming:
		return ErrNotStarted
	}
	return nil
}

// validity returns the validity of a coupon claimed at now.
func (c *Campaign) validity(now time.Time) (from, until time.Time) {
	if c.ValidDays > 0 {
		return now, now.Add(time.Duration(c.ValidDays) * 24 * time.Hour)
	}
	from = c.CreatedAt
	if c.ValidFrom != nil {
		from = *c.ValidFrom
	}
	return from, *c.ValidUntil
}

// CampaignInput is the body of POST /campaigns. Times are RFC 3339 strings,
// parsed here so that a bad one is reported by its field name.
type CampaignInput struct {
	Title         string    `json:"title"`
	Description   string    `json:"description"`
	Discount      *Discount `json:"discount"`
	MinSpend      int64     `json:"min_spend"`
	Stock         int64     `json:"stock"`
	StockShards   int       `json:"stock_shards"`
	PerUserLimit  int64     `json:"per_user_limit"`
	ClaimStartsAt string    `json:"claim_starts_at"`
	ClaimEndsAt   string    `json:"claim_ends_at"`
	ValidFrom     string    `json:"valid_from"`
	ValidUntil    string    `json:"valid_until"`
	ValidDays     int       `json:"valid_days"`
}

// Validate checks in and returns the campaign it describes, created at now.
// Defaults: per_user_limit 1, stock_shards 1, claim_starts_at now,
// claim_ends_at valid_until (absolute validity) or open.
func (in CampaignInput) Validate(now time.Time) (Campaign, error) {
	c := Campaign{Title: strings.TrimSpace(in.Title), Description: in.Description, MinSpend: in.MinSpend,
		Stock: in.Stock, StockShards: in.StockShards, PerUserLimit: in.PerUserLimit, ValidDays: in.ValidDays,
		State: StateActive, CreatedAt: now.UTC().Truncate(time.Second)}
	if err := in.validateNumbers(); err != nil {
		return Campaign{}, err
	}
	c.Discount = *in.Discount
	if c.PerUserLimit == 0 {
		c.PerUserLimit = 1
	}
	if c.StockShards == 0 {
		c.StockShards = 1
	}
	if err := in.validateTimes(&c, now); err != nil {
		return Campaign{}, err
	}
	return c, nil
}

func (in CampaignInput) validateNumbers() error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(in.Title)); {
	case n == 0:
		return apperr.Invalidf(`field "title" is required`)
	case n > 100:
		return apperr.Invalidf(`field "title" must be at most 100 characters`)
	case utf8.RuneCountInString(in.Description) > 2000:
		return apperr.Invalidf(`field "description" must be at most 2000 characters`)
	case in.Discount == nil:
		return apperr.Invalidf(`field "discount" is required`)
	case in.MinSpend < 0 || in.MinSpend > MaxAmountOff:
		return apperr.Invalidf(`field "min_spend" must be 0 to %d fen`, MaxAmountOff)
	case in.Stock < 1 || in.Stock > MaxStock:
		return apperr.Invalidf(`field "stock" must be 1 to %d`, MaxStock)
	case in.StockShards < 0 || in.StockShards > MaxStockShards:
		return apperr.Invalidf(`field "stock_shards" must be 1 to %d`, MaxStockShards)
	case int64(in.StockShards) > in.Stock:
		return apperr.Invalidf(`field "stock_shards" must not exceed stock`)
	case in.PerUserLimit < 0 || in.PerUserLimit > MaxPerUserLimit:
		return apperr.Invalidf(`field "per_user_limit" must be 1 to %d`, MaxPerUserLimit)
	case in.ValidDays < 0 || in.ValidDays > MaxValidDays:
		return apperr.Invalidf(`field "valid_days" must be 1 to %d`, MaxValidDays)
	}
	return in.Discount.Validate()
}

func (in CampaignInput) validateTimes(c *Campaign, now time.Time) error {
	var err error
	field := func(name, v string) *time.Time {
		if v == "" || err != nil {
			return nil
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			err = apperr.Invalidf(`field %q must be an RFC 3339 time`, name)
			return nil
		}
		return &t
	}
	starts, ends := field("claim_starts_at", in.ClaimStartsAt), field("claim_ends_at", in.ClaimEndsAt)
	c.ValidFrom, c.ValidUntil = field("valid_from", in.ValidFrom), field("valid_until", in.ValidUntil)
	if err != nil {
		return err
	}
	c.ClaimStartsAt, c.ClaimEndsAt = c.CreatedAt, ends
	if starts != nil {
		c.ClaimStartsAt = *starts
	}
	switch {
	case in.ValidDays > 0 && (c.ValidUntil != nil || c.ValidFrom != nil):
		return apperr.Invalidf(`field "valid_days" excludes valid_from and valid_until`)
	case in.ValidDays == 0 && c.ValidUntil == nil:
		return apperr.Invalidf(`field "valid_until" or "valid_days" is required`)
	case c.ValidUntil != nil && !c.ValidUntil.After(now):
		return apperr.Invalidf(`field "valid_until" must be in the future`)
	case c.ValidUntil != nil && c.ValidFrom != nil && !c.ValidUntil.After(*c.ValidFrom):
		return apperr.Invalidf(`field "valid_until" must be after valid_from`)
	case ends != nil && !ends.After(c.ClaimStartsAt):
		return apperr.Invalidf(`field "claim_ends_at" must be after claim_starts_at`)
	case ends != nil && !ends.After(now):
		return apperr.Invalidf(`field "claim_ends_at" must be in the future`)
	}
	if c.ClaimEndsAt == nil && c.ValidUntil != nil {
		c.ClaimEndsAt = c.ValidUntil // a coupon that expired at birth is no use
	}
	return nil
}

// Idempotency actions of the coupon creates (the admin's campaign, a user's
// claim): they name the idem records, so they never change.
const (
	IdemCampaign = "campaign-create"
	IdemClaim    = "coupon-claim"
)

// CreateCampaign validates in and creates the campaign with its stock split
// over StockShards counters. idemKey, if not empty, is the admin's
// Idempotency-Key: a repeat returns the first campaign and replayed true.
func (s *Service) CreateCampaign(ctx context.Context, in CampaignInput, idemKey string) (v CampaignView, replayed bool, err error) {
	ik, err := idem.New(IdemCampaign, "admin", idemKey, in)
	if err != nil {
		return CampaignView{}, false, err
	}
	if v, ok, err := s.replayCampaign(ctx, ik); ok || err != nil {
		return v, ok, err
	}
	now := s.now()
	c, err := in.Validate(now)
	if err != nil {
		return CampaignView{}, false, err
	}
	c.ID = newID(now)
	v = CampaignView{Campaign: c, Remaining: c.Stock, Status: c.status(now, c.Stock)}
	def, _ := json.Marshal(c)
	ops := []store.Op{store.Put(store.Item{Key: campaignKey(c.ID), Value: def}).IfAbsent()}
	for i := range c.StockShards {
		ops = append(ops, store.Put(store.Item{Key: stockKey(c.ID, i), N: shardStock(c.Stock, c.StockShards, i)}).IfAbsent())
	}
	if !ik.IsZero() {
		res, _ := json.Marshal(v)
		ops = append(ops, ik.Op(res, now))
	}
	err = s.st.Write(ctx, ops...)
	if !ik.IsZero() && store.FailedOp(err) == len(ops)-1 {
		if v, ok, err := s.replayCampaign(ctx, ik); ok || err != nil {
			return v, ok, err
		}
		return CampaignView{}, false, ErrBusy
	}
	if err != nil {
		return CampaignView{}, false, err
	}
	return v, false, nil
}

func (s *Service) replayCampaign(ctx context.Context, ik idem.Key) (CampaignView, bool, error) {
	b, ok, err := ik.Lookup(ctx, s.st)
	if err != nil || !ok {
		return CampaignView{}, false, err
	}
	var v CampaignView
	if err := json.Unmarshal(b, &v); err != nil {
		return CampaignView{}, false, err
	}
	return v, true, nil
}

// shardStock is shard i's part of stock: an even split, the remainder going
// to the first shards.
func shardStock(stock int64, shards, i int) int64 {
	n := stock / int64(shards)
	if int64(i) < stock%int64(shards) {
		n++
	}
	return n
}

// campaign returns the campaign definition, from the cache if it is fresh.
func (s *Service) campaign(ctx context.Context, id string) (Campaign, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.defs[id]
	s.mu.Unlock()
	if ok && now.Sub(e.at) < s.cacheTTL {
		return e.c, nil
	}
	c, _, err := s.loadCampaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if s.cacheTTL > 0 {
		s.mu.Lock()
		s.defs[id] = cachedCampaign{c: c, at: now}
		s.mu.Unlock()
	}
	return c, nil
}

func (s *Service) loadCampaign(ctx context.Context, id string) (Campaign, int64, error) {
	if id == "" || len(id) > 64 {
		return Campaign{}, 0, ErrCampaignNotFound
	}
	var c Campaign
	ver, err := s.get(ctx, campaignKey(id), &c)
	if errors.Is(err, store.ErrNotFound) {
		return Campaign{}, 0, ErrCampaignNotFound
	}
	return c, ver, err
}

// Remaining returns the campaign's stock left: the sum of its shards.
func (s *Service) Remaining(ctx context.Context, c Campaign) (int64, error) {
	var sum int64
	for i := range c.StockShards {
		if s.shardEmpty(c.ID, i) {
			continue
		}
		it, err := s.st.Get(ctx, stockKey(c.ID, i))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		sum += it.N
	}
	return sum, nil
}

// Campaign returns one campaign with its remaining stock, uncached.
func (s *Service) Campaign(ctx context.Context, id string) (CampaignView, error) {
	c, _, err := s.loadCampaign(ctx, id)
	if err != nil {
		return CampaignView{}, err
	}
	return s.view(ctx, c)
}

func (s *Service) view(ctx context.Context, c Campaign) (CampaignView, error) {
	rem, err := s.Remaining(ctx, c)
	if err != nil {
		return CampaignView{}, err
	}
	return CampaignView{Campaign: c, Remaining: rem, Status: c.status(s.now(), rem)}, nil
}

// Campaigns lists campaigns, newest first. Without all, only those a user can
// claim now or soon (status active, upcoming or sold_out); with all, every
// campaign, paused and ended ones included (admin).
func (s *Service) Campaigns(ctx context.Context, all bool) ([]CampaignView, error) {
	out := []CampaignView{}
	after := ""
	for {
		items, next, err := s.st.Query(ctx, "campaign#all", store.Query{After: after, Desc: true, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var c Campaign
			if err := json.Unmarshal(it.Value, &c); err != nil {
				return nil, err
			}
			if !all && c.status(s.now(), 1) != StatusActive && c.status(s.now(), 1) != StatusUpcoming {
				continue
			}
			v, err := s.view(ctx, c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// Action is an admin's change of a campaign's state.
type Action string

const (
	Pause  Action = "pause"
	Resume Action = "resume"
	End    Action = "end"
)

// SetState pauses, resumes or ends a campaign. Pausing a paused campaign or
// resuming an active one changes nothing; any action but End on an ended
// campaign returns ErrCampaignEnded (ending is final).
func (s *Service) SetState(ctx context.Context, id string, a Action) (CampaignView, error) {
	to := map[Action]State{Pause: StatePaused, Resume: StateActive, End: StateEnded}[a]
	if to == "" {
		return CampaignView{}, apperr.Invalidf("unknown action %q", a)
	}
	for range 5 {
		c, ver, err := s.loadCampaign(ctx, id)
		if err != nil {
			return CampaignView{}, err
		}
		if c.State == StateEnded && to != StateEnded {
			return CampaignView{}, ErrCampaignEnded
		}
		if c.State != to {
			c.State = to
			def, _ := json.Marshal(c)
			err = s.st.Write(ctx, store.Put(store.Item{Key: campaignKey(id), Value: def}).IfVersion(ver))
			if errors.Is(err, store.ErrConditionFailed) {
				continue
			}
			if err != nil {
				return CampaignView{}, err
			}
		}
		s.mu.Lock()
		delete(s.defs, id)
		s.mu.Unlock()
		return s.view(ctx, c)
	}
	return CampaignView{}, ErrBusy
}
