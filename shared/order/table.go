package order

import (
	"context"

	"github.com/minifn/minifn/shared/apperr"
)

// Tables tells which store and table a table code's scene stands for;
// *scene.Service implements it. The scene's params are the proof that the
// store's staff (or the admin) made that code: the client's own "store_id"
// and "table" are trusted only when they match (docs/tables.md).
type Tables interface {
	// Table returns the store and table of a table code's scene, or an
	// error (scene's not_a_table for any scene that is not one).
	Table(ctx context.Context, scene string) (storeID, table string, err error)
}

// ErrTableNotVerified is returned by Create for a table order whose
// "scene" is missing, is not a table code, or names another store or
// table than the order's "store_id" and "table".
var ErrTableNotVerified = apperr.New(apperr.Forbidden, "table_not_verified",
	`a table order must carry the "scene" of that table's code (made by the store's staff), naming the same "store_id" and "table"`)

// checkTable refuses a table order whose table is not the one its scene
// stands for: nobody can invent a table for a store by posting arbitrary
// "store_id" and "table".
func (s *Service) checkTable(ctx context.Context, req CreateRequest) error {
	if req.Table == "" {
		return nil
	}
	if req.Scene == "" {
		return ErrTableNotVerified.WithMessage(`a table order needs the "scene" of its table's code`)
	}
	if s.o.Tables == nil {
		return ErrTableNotVerified.WithMessage("this function cannot check table codes")
	}
	storeID, table, err := s.o.Tables.Table(ctx, req.Scene)
	if err != nil && apperr.KindOf(err) == apperr.NotFound {
		return ErrTableNotVerified.WithMessage(`the "scene" is not a table code`)
	}
	if err != nil {
		return err
	}
	if storeID != req.StoreID || table != req.Table {
		return ErrTableNotVerified.WithMessage(`the "scene" is the code of another table`)
	}
	return nil
}
