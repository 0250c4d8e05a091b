package points

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
)

// Limits.
const (
	MaxCodePoints = 100_000
	MaxBatch      = 1000
	MaxRewardCost = 10_000_000
	MaxStock      = 1_000_000
	MaxTitle      = 64
	codeLen       = 16
	codeAlphabet  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford base32
)

// Idempotency actions.
const (
	IdemScan   = "points-scan"
	IdemRedeem = "points-redeem"
	IdemMint   = "points-mint"
	IdemReward = "reward-create"
)

var (
	// ErrCodeNotFound is returned by Scan for a code that was never minted.
	ErrCodeNotFound = apperr.New(apperr.NotFound, "code_not_found", "no such point code")
	// ErrAlreadyUsed is returned by Scan for a code someone already scanned.
	ErrAlreadyUsed = apperr.New(apperr.Conflict, "already_used", "this point code was already used")
	// ErrInsufficient is returned by Redeem when the balance is below the cost.
	ErrInsufficient = apperr.New(apperr.Conflict, "insufficient_points", "not enough points for this reward")
	// ErrNegativeBalance is returned by Redeem when the balance is below
	// zero: refunds took back points the user had already spent. It blocks
	// every redemption until points earned elsewhere make it positive.
	ErrNegativeBalance = apperr.New(apperr.Conflict, "negative_balance", "the points balance is negative: points of a refunded order were taken back")
	// ErrOutOfStock is returned by Redeem when the reward has no stock left.
	ErrOutOfStock = apperr.New(apperr.Conflict, "out_of_stock", "this reward is out of stock")
	// ErrRewardNotFound is returned by Redeem for an unknown reward.
	ErrRewardNotFound = apperr.New(apperr.NotFound, "reward_not_found", "no such reward")
)

// Entry is one ledger line.
type Entry struct {
	ID     string    `json:"id"`
	Delta  int64     `json:"delta"`
	Reason string    `json:"reason"` // scan, redeem, order, refund
	Ref    string    `json:"ref"`    // the code, the redemption id, the order id
	At     time.Time `json:"at"`
}

// Ledger reasons.
const (
	ReasonScan   = "scan"
	ReasonRedeem = "redeem"
	ReasonOrder  = "order"
	ReasonRefund = "refund" // points of an order taken back for its refund (negative)
)

// Reward is one item of the rewards catalog.
type Reward struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Points    int64     `json:"points"`
	Stock     int64     `json:"stock"` // remaining; from the counter
	CreatedAt time.Time `json:"created_at"`
}

// Redemption is a reward taken for points.
type Redemption struct {
	ID       string    `json:"id"`
	RewardID string    `json:"reward_id"`
	Title    string    `json:"title"`
	Points   int64     `json:"points"`
	At       time.Time `json:"at"`
}

// Service runs points. It is safe for concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service { return &Service{st: st, o: o} }

// Options are the settings of a Service.
type Options struct {
	Now func() time.Time // nil: time.Now
	// PerYuan is how many points a paid order earns per yuan (100 fen) of
	// its total, rounded down; 0 turns order credits off.
	PerYuan int64
}

func (s *Service) now() time.Time {
	if s.o.Now == nil {
		return time.Now().UTC()
	}
	return s.o.Now().UTC()
}

func userPK(openid string) string        { return "points#u#" + openid }
func balanceKey(openid string) store.Key { return store.Key{PK: userPK(openid), SK: "balance"} }
func codeKey(code string) store.Key      { return store.Key{PK: "points#code#" + code, SK: "code"} }
func usedKey(code string) store.Key      { return store.Key{PK: "points#code#" + code, SK: "used"} }
func creditKey(txid string) store.Key    { return store.Key{PK: "points#credit#" + txid, SK: "credit"} }
func rewardKey(id string) store.Key      { return store.Key{PK: "reward#catalog", SK: id} }

// newID returns a time-sortable id: 12 hex digits of milliseconds, then 16
// random hex digits.
func newID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// entryOp returns the Put of a new ledger entry (never overwriting one).
func (s *Service) entryOp(openid string, e Entry) (store.Op, Entry) {
	if e.ID == "" {
		e.ID = newID(e.At)
	}
	b, _ := json.Marshal(e)
	return store.Put(store.Item{Key: store.Key{PK: userPK(openid), SK: "ledger#" + e.ID}, Value: b}).IfAbsent(), e
}

// Minted is the outcome of Mint.
type Minted struct {
	Codes    []string `json:"codes"`
	Points   int64    `json:"points"`
	Replayed bool     `json:"-"`
}

// Mint creates count one-time codes worth points each. With an idemKey seen
// before (from the admin) it creates nothing and returns the first batch.
// The record is written with the last Write of the batch: a batch cut short
// by a crash leaves codes nobody was ever shown, and its retry mints a whole
// new one. Returns invalid_request, idem.ErrKeyReused, store errors.
func (s *Service) Mint(ctx context.Context, pts int64, count int, idemKey string) (Minted, error) {
	if pts < 1 || pts > MaxCodePoints {
		return Minted{}, apperr.Invalidf(`field "points" must be 1 to %d`, MaxCodePoints)
	}
	if count < 1 || count > MaxBatch {
		return Minted{}, apperr.Invalidf(`field "count" must be 1 to %d`, MaxBatch)
	}
	ik, err := idem.New(IdemMint, "admin", idemKey, struct {
		Points int64 `json:"points"`
		Count  int   `json:"count"`
	}{pts, count})
	if err != nil {
		return Minted{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return replayMint(b, err)
	}
	now := s.now()
	batch := newID(now)
	v, _ := json.Marshal(map[string]any{"points": pts, "batch": batch, "created_at": now})
	codes := make([]string, 0, count)
	for len(codes) < count {
		n := min(count-len(codes), store.MaxOps)
		ops := make([]store.Op, n)
		fresh := make([]string, n)
		for i := range ops {
			fresh[i] = newCode()
			ops[i] = store.Put(store.Item{Key: codeKey(fresh[i]), Value: v}).IfAbsent()
		}
		last := len(codes)+n == count
		if last && !ik.IsZero() {
			rec, _ := json.Marshal(Minted{Codes: append(codes[:len(codes):len(codes)], fresh...), Points: pts})
			ops = append(ops, ik.Op(rec, now))
		}
		err := s.st.Write(ctx, ops...)
		if i := store.FailedOp(err); last && !ik.IsZero() && i == n {
			// A concurrent duplicate of this request finished first.
			b, _, err := ik.Lookup(ctx, s.st)
			return replayMint(b, err)
		}
		if errors.Is(err, store.ErrConditionFailed) {
			continue // an 80-bit collision: draw the batch again
		}
		if err != nil {
			return Minted{}, err
		}
		codes = append(codes, fresh...)
	}
	return Minted{Codes: codes, Points: pts}, nil
}

func replayMint(b []byte, err error) (Minted, error) {
	if err != nil {
		return Minted{}, err
	}
	var out Minted
	if err := json.Unmarshal(b, &out); err != nil {
		return Minted{}, fmt.Errorf("points: corrupt idempotency record: %w", err)
	}
	out.Replayed = true
	return out, nil
}

func newCode() string {
	b := make([]byte, codeLen)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)] // 256 % 32 == 0: no bias
	}
	return string(b)
}

// NormalizeCode upper-cases a scanned code and maps Crockford's look-alikes.
func NormalizeCode(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	return strings.NewReplacer("O", "0", "I", "1", "L", "1", "-", "").Replace(code)
}

// ValidCode reports whether code (normalized) has the shape of a point code.
func ValidCode(code string) bool {
	if len(code) != codeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		if strings.IndexByte(codeAlphabet, code[i]) < 0 {
			return false
		}
	}
	return true
}

// CodeInfo is what an admin sees of a minted point code.
type CodeInfo struct {
	Code   string `json:"code"`
	Points int64  `json:"points"`
	Used   bool   `json:"used"`
}

// Code returns a minted code (normalized first). Returns ErrCodeNotFound,
// store errors.
func (s *Service) Code(ctx context.Context, code string) (CodeInfo, error) {
	code = NormalizeCode(code)
	if !ValidCode(code) {
		return CodeInfo{}, ErrCodeNotFound
	}
	it, err := s.st.Get(ctx, codeKey(code))
	if errors.Is(err, store.ErrNotFound) {
		return CodeInfo{}, ErrCodeNotFound
	}
	if err != nil {
		return CodeInfo{}, err
	}
	info := CodeInfo{Code: code}
	if err := json.Unmarshal(it.Value, &info); err != nil {
		return CodeInfo{}, fmt.Errorf("points: corrupt code item: %w", err)
	}
	info.Code = code
	_, err = s.st.Get(ctx, usedKey(code))
	switch {
	case err == nil:
		info.Used = true
	case !errors.Is(err, store.ErrNotFound):
		return CodeInfo{}, err
	}
	return info, nil
}

// Scanned is the outcome of Scan.
type Scanned struct {
	Earned   int64 `json:"earned"`
	Balance  int64 `json:"balance"`
	Replayed bool  `json:"-"`
}

// Scan credits openid with the code's points, once per code ever. With an
// idemKey seen before from openid, it returns the first answer. Returns
// ErrCodeNotFound, ErrAlreadyUsed, store errors.
func (s *Service) Scan(ctx context.Context, openid, code, idemKey string) (Scanned, error) {
	if err := idem.Check(idemKey); err != nil {
		return Scanned{}, err
	}
	code = NormalizeCode(code)
	if !ValidCode(code) {
		return Scanned{}, ErrCodeNotFound
	}
	ik, err := idem.New(IdemScan, openid, idemKey, code)
	if err != nil {
		return Scanned{}, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return s.replayScan(ctx, openid, b, err)
	}
	it, err := s.st.Get(ctx, codeKey(code))
	if errors.Is(err, store.ErrNotFound) {
		return Scanned{}, ErrCodeNotFound
	}
	if err != nil {
		return Scanned{}, err
	}
	var c struct {
		Points int64 `json:"points"`
	}
	if err := json.Unmarshal(it.Value, &c); err != nil {
		return Scanned{}, fmt.Errorf("points: corrupt code item: %w", err)
	}
	now := s.now()
	used, _ := json.Marshal(map[string]any{"openid": openid, "at": now})
	entry, _ := s.entryOp(openid, Entry{Delta: c.Points, Reason: ReasonScan, Ref: code, At: now})
	ops := []store.Op{
		store.Check(codeKey(code)).IfVersion(it.Version),
		store.Put(store.Item{Key: usedKey(code), Value: used}).IfAbsent(),
		entry,
		store.Add(balanceKey(openid), c.Points),
		stats.Op(stats.PointsEarned, now, code, c.Points), // the day's counter (package stats)
	}
	if !ik.IsZero() {
		// The answer's balance is not known before the Write: replays
		// read the balance anew, and say what was earned.
		rec, _ := json.Marshal(Scanned{Earned: c.Points})
		ops = append(ops, ik.Op(rec, now))
	}
	err = s.st.Write(ctx, ops...)
	switch i := store.FailedOp(err); {
	case err == nil:
	case i == 0:
		return Scanned{}, ErrCodeNotFound
	case i == 1:
		return Scanned{}, ErrAlreadyUsed
	case i == 5:
		b, _, err := ik.Lookup(ctx, s.st)
		return s.replayScan(ctx, openid, b, err)
	default:
		return Scanned{}, err
	}
	bal, err := s.Balance(ctx, openid)
	return Scanned{Earned: c.Points, Balance: bal}, err
}

// replayScan answers a repeated scan from its record: what was earned, and
// the balance as it is now.
func (s *Service) replayScan(ctx context.Context, openid string, b []byte, err error) (Scanned, error) {
	if err != nil {
		return Scanned{}, err
	}
	var out Scanned
	if err := json.Unmarshal(b, &out); err != nil {
		return Scanned{}, fmt.Errorf("points: corrupt idempotency record: %w", err)
	}
	out.Replayed = true
	out.Balance, err = s.Balance(ctx, openid)
	return out, err
}

// Balance returns openid's balance (0 for a user with none).
func (s *Service) Balance(ctx context.Context, openid string) (int64, error) {
	it, err := s.st.Get(ctx, balanceKey(openid))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return it.N, err
}

// Ledger returns openid's ledger, newest first, after the cursor, and the
// next cursor ("" at the end). Entries of the same millisecond come in no
// particular order.
func (s *Service) Ledger(ctx context.Context, openid, after string, limit int) ([]Entry, string, error) {
	if after != "" && !strings.HasPrefix(after, "ledger#") {
		return nil, "", apperr.Invalidf(`"after" is not a ledger cursor`)
	}
	items, next, err := s.st.Query(ctx, userPK(openid), store.Query{Prefix: "ledger#", After: after, Desc: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Entry, 0, len(items))
	for _, it := range items {
		var e Entry
		if err := json.Unmarshal(it.Value, &e); err != nil {
			return nil, "", fmt.Errorf("points: corrupt ledger entry %s: %w", it.Key, err)
		}
		out = append(out, e)
	}
	return out, next, nil
}
