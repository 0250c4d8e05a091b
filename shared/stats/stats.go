// Package stats implements the merchant's daily counters: paid orders,
// revenue, refunds, coupons claimed and redeemed, points earned and new
// users (in all, and by the scene of their first entry), kept as events
// happen so that the dashboard reads a few hundred small items and never
// scans orders, coupons or users.
//
// # Exact counts
//
// A counter is never written on its own. The package that owns an event
// asks Op (or SceneOp) for a store.Add and puts it in the same store.Write
// that records the event: the order's paid transition, a refund's success,
// a coupon's claim or redemption, a points credit, a user's profile
// creation, a user's first touch. That Write is already conditioned so that
// the event happens once (the order's version, a put-if-absent, a notify
// id), so a WeChat Pay notify delivered again, a replayed Idempotency-Key or
// a retried request adds nothing, and a crash leaves the event and its count
// both written or both not.
//
// # Days
//
// A day is a calendar day in China Standard Time (UTC+8, no daylight
// saving): the merchant's day, whatever zone the function runs in. The day
// of an event is the event's own time: paid_at for a payment, the refund's
// success time for a refund, the claim, redemption, credit, profile creation
// or first touch time for the others. A late notify therefore counts on the
// day the payer paid, not the day it arrived.
//
// # Sharding: N = 64
//
// Every counter of a day is spread over Shards items, the shard chosen by a
// hash of the event's id (order id, refund number, coupon id, code, openid),
// and a read sums the shards. One item cannot take a flash sale's claims:
// on DynamoDB one item gets at most 1,000 write units/s and concurrent
// transactions on it cancel each other (TransactionConflict), and on
// PostgreSQL a Write holds the item's row lock until it commits, so every
// claim would queue behind the previous one. Shards = 64 matches the
// coupon stock's largest sharding (coupon.MaxStockShards): a sale at the
// stock shards' design rate (250 claims/s per shard, up to 16,000 claims/s)
// puts no more on a counter shard than on a stock shard, which every claim
// writes anyway. Reading costs Shards queries per request (run 16 at a
// time), each one page for 14 days: cheap for a page a merchant opens.
//
// # Key layout
//
//	stats#<shard>  / <day>#<counter>   N: the shard's count that day (day is 2006-01-02, CST)
//
// Counters: paid_orders, revenue (fen), refunds, refunded (fen),
// coupons_claimed, coupons_redeemed, points_earned, new_users, and
// scene_users#<scene>. A day's items sort together under each shard, so a
// range of days is one Query per shard (SK after the first day). Items
// expire Retention after their day.
//
// # Caveats
//
//   - revenue counts every paid order's total on its paid day; refunds and
//     refunded count merchants' refunds on the day WeChat Pay finished them.
//     The automatic refund of a payment that reached a cancelled or closed
//     order counts in neither: that payment never made the order paid.
//   - coupons_redeemed counts coupons used, at a store counter or by a paid
//     order.
//   - points_earned counts points credited (code scans, paid orders); points
//     taken back by refunds and spent on rewards are not subtracted.
//   - scene_users counts a user under the scene of their first entry (the
//     first touch of package scene) on the day that touch was recorded: for a
//     user who opened a code on their first visit, the day they became a user.
//     A user who came first without a scene and later through a code is
//     counted in new_users on the first day and under the scene on the later
//     one.
package stats

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// Shards is how many items each counter of a day is spread over (see the
// package doc for why 64).
const Shards = 64

// Retention is how long a day's counters are kept after the day.
const Retention = 400 * 24 * time.Hour

// MaxDays is the longest range Read returns.
const MaxDays = 90

// Zone is the merchant's time zone, China Standard Time (UTC+8).
var Zone = time.FixedZone("CST", 8*60*60)

// Counter names a daily counter.
type Counter string

// The counters.
const (
	PaidOrders      Counter = "paid_orders"
	Revenue         Counter = "revenue"  // fen
	Refunds         Counter = "refunds"  // merchants' refunds that succeeded
	Refunded        Counter = "refunded" // fen
	CouponsClaimed  Counter = "coupons_claimed"
	CouponsRedeemed Counter = "coupons_redeemed"
	PointsEarned    Counter = "points_earned"
	NewUsers        Counter = "new_users"
	sceneUsers      Counter = "scene_users#" // + the scene
)

// Counters lists the fixed counters in the order they are shown.
var Counters = []Counter{PaidOrders, Revenue, Refunds, Refunded, CouponsClaimed, CouponsRedeemed, PointsEarned, NewUsers}

// Day returns the CST calendar day of t, as 2006-01-02.
func Day(t time.Time) string { return t.In(Zone).Format(time.DateOnly) }

// shard picks the event's shard from its id.
func shard(eventID string) int {
	h := fnv.New32a()
	h.Write([]byte(eventID))
	return int(h.Sum32() % Shards)
}

func pk(shard int) string { return fmt.Sprintf("stats#%02d", shard) }

// Key is the counter's item for the event eventID at time at.
func Key(c Counter, at time.Time, eventID string) store.Key {
	return store.Key{PK: pk(shard(eventID)), SK: Day(at) + "#" + string(c)}
}

// expiry is when the counters of at's day expire.
func expiry(at time.Time) time.Time {
	y, m, d := at.In(Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Zone).Add(Retention).UTC()
}

// Op returns the Add of delta to counter c for the event eventID (an id
// unique to the event: its shard is chosen from it) that happened at at. Put
// it in the Write that records the event.
func Op(c Counter, at time.Time, eventID string, delta int64) store.Op {
	return store.Add(Key(c, at, eventID), delta).ExpiringAt(expiry(at))
}

// SceneOp returns the Add that counts one new user openid under scene, at
// at. An empty scene gives no op (ok false).
func SceneOp(scene string, at time.Time, openid string) (op store.Op, ok bool) {
	if scene == "" {
		return store.Op{}, false
	}
	return Op(sceneUsers+Counter(scene), at, openid, 1), true
}

// DayStats is one day's counters.
type DayStats struct {
	Day             string           `json:"day"`
	PaidOrders      int64            `json:"paid_orders"`
	Revenue         int64            `json:"revenue"`
	Refunds         int64            `json:"refunds"`
	Refunded        int64            `json:"refunded"`
	CouponsClaimed  int64            `json:"coupons_claimed"`
	CouponsRedeemed int64            `json:"coupons_redeemed"`
	PointsEarned    int64            `json:"points_earned"`
	NewUsers        int64            `json:"new_users"`
	SceneUsers      map[string]int64 `json:"scene_users"` // scene → users whose first entry it was
}

func (d *DayStats) add(c Counter, n int64) {
	switch c {
	case PaidOrders:
		d.PaidOrders += n
	case Revenue:
		d.Revenue += n
	case Refunds:
		d.Refunds += n
	case Refunded:
		d.Refunded += n
	case CouponsClaimed:
		d.CouponsClaimed += n
	case CouponsRedeemed:
		d.CouponsRedeemed += n
	case PointsEarned:
		d.PointsEarned += n
	case NewUsers:
		d.NewUsers += n
	default:
		if sc, ok := strings.CutPrefix(string(c), string(sceneUsers)); ok && sc != "" {
			d.SceneUsers[sc] += n
		}
	}
}

// Report is the counters of a range of days, oldest first, the last one
// being today.
type Report struct {
	Zone string     `json:"zone"` // "UTC+08:00"
	Days []DayStats `json:"days"`
}

// ErrDays is returned by Read for a range outside 1 to MaxDays.
var ErrDays = apperr.Invalidf("days must be 1 to %d", MaxDays)

// readers bounds the shard queries a Read runs at once.
const readers = 16

// Read returns the last days days up to now's day (CST), summing each
// counter's shards: one Query per shard, from the first day on. Returns
// ErrDays, store errors.
func Read(ctx context.Context, st store.Store, now time.Time, days int) (Report, error) {
	if days < 1 || days > MaxDays {
		return Report{}, ErrDays
	}
	y, m, d := now.In(Zone).Date()
	today := time.Date(y, m, d, 12, 0, 0, 0, Zone) // noon: clear of any day boundary
	rep := Report{Zone: "UTC+08:00", Days: make([]DayStats, days)}
	index := make(map[string]int, days)
	for i := range rep.Days {
		day := Day(today.AddDate(0, 0, i-days+1))
		rep.Days[i] = DayStats{Day: day, SceneUsers: map[string]int64{}}
		index[day] = i
	}
	first, last := rep.Days[0].Day, rep.Days[days-1].Day

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, readers)
	)
	for sh := range Shards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			items, err := readShard(ctx, st, sh, first, last)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			for _, it := range items {
				day, c, ok := strings.Cut(it.SK, "#")
				if i, in := index[day]; ok && in {
					rep.Days[i].add(Counter(c), it.N)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return Report{}, firstErr
	}
	return rep, nil
}

// readShard returns the shard's items of days first to last, in SK order.
func readShard(ctx context.Context, st store.Store, sh int, first, last string) ([]store.Item, error) {
	var out []store.Item
	// "2006-01-02" sorts before every "2006-01-02#…": After the first day
	// alone starts at its first counter.
	after := first
	for {
		items, next, err := st.Query(ctx, pk(sh), store.Query{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if it.SK > last+"#\xff" {
				return out, nil // a later day (an event dated after now)
			}
			out = append(out, it)
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}
