package outlet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/ident"
	"github.com/minifn/minifn/shared/store"
)

// Store statuses.
const (
	Open   = "open"   // trading (within its hours)
	Closed = "closed" // shut by the merchant, whatever the hours say
)

// Store is a physical store. It is both the stored record and the API's
// shape.
type Store struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Address string  `json:"address"`
	Lat     float64 `json:"lat"` // GCJ-02 latitude, as wx.getLocation({type:'gcj02'}) gives it
	Lng     float64 `json:"lng"` // GCJ-02 longitude
	Phone   string  `json:"phone,omitempty"`
	Hours   Hours   `json:"hours,omitempty"` // nil: open whenever Status is open
	Status  string  `json:"status"`          // Open or Closed

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"` // counts the merchant's edits: 1 on create
}

// Limits of a store's fields.
const (
	MaxNameLen    = 64  // characters
	MaxAddressLen = 200 // characters
	MaxPhoneLen   = 32
)

var (
	// ErrStoreNotFound is returned when no store has the id.
	ErrStoreNotFound = apperr.New(apperr.NotFound, "store_not_found", "no store has this id")

	// ErrStoreClosed is returned by CheckOpen when the store's status is
	// closed or the clock is outside its opening hours.
	ErrStoreClosed = apperr.New(apperr.Conflict, "store_closed", "the store is closed")

	// ErrNotStaff is returned when a user without the staff role asks for
	// what staff do (StaffStore, a redemption at the counter).
	ErrNotStaff = apperr.New(apperr.Forbidden, "not_staff", "the staff role is required")

	// ErrNotStoreStaff is returned when a staff member asks for a
	// store-bound action at a store that is not theirs (or, being staff of
	// no one store, at any store).
	ErrNotStoreStaff = apperr.New(apperr.Forbidden, "not_store_staff", "the staff of this store only")

	// ErrVersionConflict is returned when an edit's if_version is not the
	// store's version: another edit landed since the editor loaded it.
	ErrVersionConflict = apperr.New(apperr.Conflict, "version_conflict", "the store was edited meanwhile; reload it")
)

// CST is China Standard Time, the zone of every store's hours.
var CST = time.FixedZone("CST", 8*3600)

// Options configure a Service.
type Options struct {
	Now func() time.Time // the clock; time.Now when nil
}

// Service holds stores and staff on a store.Store. It is safe for
// concurrent use.
type Service struct {
	st  store.Store
	now func() time.Time
}

// New returns a Service on st.
func New(st store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: st, now: o.Now}
}

// Keys; see the package doc for the layout.

const storesPK = "outlet#all"

func storeKey(id string) store.Key { return store.Key{PK: storesPK, SK: id} }

// ValidID reports whether id can be a store id (ours are 16 hex digits;
// the rule only keeps keys and URLs sane).
func ValidID(id string) bool { return ident.Valid(id, 1, 64, "_-") }

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Get returns the store with the id. Returns ErrStoreNotFound.
func (s *Service) Get(ctx context.Context, id string) (Store, error) {
	st, _, err := s.load(ctx, id)
	return st, err
}

// load returns the store and its item's version.
func (s *Service) load(ctx context.Context, id string) (Store, int64, error) {
	if !ValidID(id) {
		return Store{}, 0, ErrStoreNotFound
	}
	it, err := s.st.Get(ctx, storeKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Store{}, 0, ErrStoreNotFound
	}
	if err != nil {
		return Store{}, 0, err
	}
	var st Store
	if err := json.Unmarshal(it.Value, &st); err != nil {
		return Store{}, 0, fmt.Errorf("outlet: corrupt item %s: %w", it.Key, err)
	}
	return st, it.Version, nil
}

// CheckOpen returns nil when the store exists, its status is open and now
// is within its hours. Returns ErrStoreNotFound or ErrStoreClosed.
func (s *Service) CheckOpen(ctx context.Context, id string) error {
	st, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !st.OpenAt(s.now()) {
		return ErrStoreClosed.WithMessage("store %q is closed now", id)
	}
	return nil
}

// OpenAt reports whether the store trades at t: status open and t within
// its hours (any time, when it has none).
func (st Store) OpenAt(t time.Time) bool {
	return st.Status == Open && st.Hours.OpenAt(t)
}

// Validate checks the store's fields (not ID, times or Version).
func (st Store) Validate() error {
	switch {
	case strings.TrimSpace(st.Name) == "" || utf8.RuneCountInString(st.Name) > MaxNameLen:
		return apperr.Invalidf("name is required, at most %d characters", MaxNameLen)
	case strings.TrimSpace(st.Address) == "" || utf8.RuneCountInString(st.Address) > MaxAddressLen:
		return apperr.Invalidf("address is required, at most %d characters", MaxAddressLen)
	case len(st.Phone) > MaxPhoneLen || strings.IndexFunc(st.Phone, func(r rune) bool { return !strings.ContainsRune("0123456789+- ", r) }) >= 0:
		return apperr.Invalidf("phone must be at most %d digits, spaces, + and -", MaxPhoneLen)
	case st.Status != Open && st.Status != Closed:
		return apperr.Invalidf("status must be %q or %q", Open, Closed)
	}
	if err := CheckLatLng(st.Lat, st.Lng); err != nil {
		return err
	}
	return st.Hours.Validate()
}

// CheckLatLng checks a coordinate pair: finite, latitude −90 to 90,
// longitude −180 to 180 (the ranges wx.getLocation answers in).
func CheckLatLng(lat, lng float64) error {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return apperr.Invalidf("lat must be a latitude, -90 to 90")
	}
	if math.IsNaN(lng) || lng < -180 || lng > 180 {
		return apperr.Invalidf("lng must be a longitude, -180 to 180")
	}
	return nil
}

// CheckExists returns nil when a store has the id (open or closed).
// Returns ErrStoreNotFound.
func (s *Service) CheckExists(ctx context.Context, id string) error {
	_, err := s.Get(ctx, id)
	return err
}
