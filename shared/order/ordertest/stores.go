package ordertest

import (
	"context"
	"sync"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/order"
)

// Errors of FakeStores, with the codes of package outlet's.
var (
	ErrFakeStoreNotFound = apperr.New(apperr.NotFound, "store_not_found", "no such store")
	ErrFakeStoreClosed   = apperr.New(apperr.Conflict, "store_closed", "the store is closed")
	ErrFakeNotStaff      = apperr.New(apperr.Forbidden, "not_staff", "only staff can do this")
)

// FakeStores is an order.Stores for tests that run without package
// outlet: the stores that exist (open or not) and the staff's stores.
type FakeStores struct {
	mu    sync.Mutex
	Open  map[string]bool   // store id → open; absent: no such store
	Staff map[string]string // openid → store id ("" staff of no one store); absent: not staff
}

var _ order.Stores = (*FakeStores)(nil)

// CheckOpen implements order.Stores.
func (f *FakeStores) CheckOpen(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	open, ok := f.Open[id]
	switch {
	case !ok:
		return ErrFakeStoreNotFound
	case !open:
		return ErrFakeStoreClosed
	}
	return nil
}

// StaffStore implements order.Stores.
func (f *FakeStores) StaffStore(_ context.Context, openid string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.Staff[openid]
	if !ok {
		return "", ErrFakeNotStaff
	}
	return id, nil
}
