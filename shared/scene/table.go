package scene

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/outlet"
)

// A table code is the Mini-Program code on a restaurant table: its scene
// stands for exactly the params {"store_id","table"} (any page: the
// merchant's table page). Table orders carry that scene, and the order
// service trusts the store and table only from it (Table), so the scene's
// params are the proof that the store's staff put this table there:
//
//   - Code makes a code whose params hold "table" only for the admin or a
//     staff member of that very store (Stores.StaffStore), with no other
//     params (and so no referrer, no share-code limit).
//   - A user's share code always carries "referrer" and may not hold
//     "table" at all, so no user can make a scene that stands for exactly
//     {"store_id","table"}.
//
// See docs/tables.md.
const (
	StoreParam = "store_id"
	TableParam = "table"
	// MaxTable is the length limit of a table name, in characters; the
	// same as order.MaxTable.
	MaxTable = 16
)

// Stores is what table codes need of the physical stores; *outlet.Service
// implements it.
type Stores interface {
	// CheckExists returns nil when the store exists (open or closed), else
	// outlet's store_not_found error.
	CheckExists(ctx context.Context, storeID string) error
	// StaffStore returns the store a staff member works at ("" for staff
	// of no one store), or outlet's not_staff error when openid holds no
	// staff role.
	StaffStore(ctx context.Context, openid string) (storeID string, err error)
}

var (
	// ErrNotTable is returned by Table for a scene that is not a table
	// code (unknown, or standing for other params).
	ErrNotTable = apperr.New(apperr.NotFound, "not_a_table", "the scene is not a table code")
	// ErrNotStoreStaff is returned when a table code is asked by someone
	// other than the admin or a staff member of that store.
	// It is outlet's, as for every store-bound action.
	ErrNotStoreStaff = outlet.ErrNotStoreStaff
	// ErrNoStores is returned for a table code while the function knows no
	// stores (Options.Stores nil).
	ErrNoStores = apperr.New(apperr.Invalid, "invalid_request", "this shop has no stores: table codes cannot be made")
)

// ValidTable reports whether t can name a table: 1 to MaxTable
// characters, no control character (as order.CreateRequest checks it).
func ValidTable(t string) bool {
	n := utf8.RuneCountInString(t)
	return utf8.ValidString(t) && n >= 1 && n <= MaxTable && !strings.ContainsFunc(t, unicode.IsControl)
}

// isTableEntry reports whether params are those of a table code.
func isTableEntry(p Params) bool {
	return len(p) == 2 && p[StoreParam] != "" && ValidTable(p[TableParam])
}

// wantsTable reports whether a code request asks for a table code: any
// request whose params hold "table" is checked as one.
func wantsTable(p Params) bool {
	_, ok := p[TableParam]
	return ok
}

// checkTableCode checks a table code request: its params and its caller
// (the admin, for a store that exists; or staff of that store).
func (s *Service) checkTableCode(ctx context.Context, c Caller, p Params) error {
	if !isTableEntry(p) || len(p[StoreParam]) > 64 {
		return apperr.Invalidf(`a table code's "params" are exactly {"store_id","table"}: store_id 1 to 64 characters, table 1 to %d characters without control characters`, MaxTable)
	}
	if s.o.Stores == nil {
		return ErrNoStores
	}
	storeID := p[StoreParam]
	if c.Admin {
		// The store must exist; a closed one may still print its codes.
		return s.o.Stores.CheckExists(ctx, storeID)
	}
	if c.OpenID == "" {
		return ErrNoCaller
	}
	at, err := s.o.Stores.StaffStore(ctx, c.OpenID)
	if err != nil {
		return err
	}
	if at == "" || at != storeID {
		return ErrNotStoreStaff.WithMessage("only the admin or staff of store %q may make its table codes", storeID)
	}
	return nil
}

// Table returns the store and table a table code's scene stands for.
// Returns ErrNotTable (also for an unknown scene), store errors.
func (s *Service) Table(ctx context.Context, scene string) (storeID, table string, err error) {
	e, err := s.Lookup(ctx, scene)
	if apperr.HasCode(err, ErrNotFound.Code) {
		return "", "", ErrNotTable
	}
	if err != nil {
		return "", "", err
	}
	if !isTableEntry(e.Params) {
		return "", "", ErrNotTable
	}
	return e.Params[StoreParam], e.Params[TableParam], nil
}
