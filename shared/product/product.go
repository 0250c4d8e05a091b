// Package product implements the shop's catalog: products with a price in fen
// and an optional stock that orders reserve with a bounded counter.
//
// # Key layout
//
//	product#catalog / <sku>   Value: the Product JSON; N: remaining stock
//
// The stock lives in the product item's counter, so that GET /products is one
// Query and an order reserves stock with store.Add(key, -q).AtLeast(0) on the
// same key (Add changes only N, never the Value). A product with Limited false
// has no stock limit and its counter is ignored.
//
// # Caveats
//
//   - Every product shares one partition (about 1,000 writes/s on DynamoDB),
//     which is far above what one Mini-Program shop sells; a flash sale of one
//     SKU is bounded by the same limit whatever the layout.
//   - Setting a product's stock (admin Put) replaces the counter: it is the
//     number left to sell from now on, not a delta.
package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/ident"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/store"
)

// MaxPrice bounds a product's price (100,000 yuan): enough for a shop, and far
// from int64 overflow when multiplied by a quantity.
const MaxPrice = 10_000_000

// MaxStock bounds a product's stock.
const MaxStock = 100_000_000

// catalogPK is the collection that holds every product.
const catalogPK = "product#catalog"

var (
	// ErrNotFound is returned when no product has the SKU.
	ErrNotFound = apperr.New(apperr.NotFound, "product_not_found", "no such product")
	// ErrInactive is returned when an order names a product that is not on sale.
	ErrInactive = apperr.New(apperr.Conflict, "product_inactive", "the product is not on sale")
)

// Product is one item of the catalog.
type Product struct {
	SKU       string    `json:"sku"`
	Title     string    `json:"title"`
	Price     int64     `json:"price"`           // fen
	Stock     *int64    `json:"stock,omitempty"` // remaining; absent when unlimited
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limited reports whether the product's stock is counted.
func (p Product) Limited() bool { return p.Stock != nil }

// Validate checks the fields an admin sets.
func (p Product) Validate() error {
	switch {
	case !validSKU(p.SKU):
		return apperr.Invalidf("field \"sku\" must be 1 to 64 characters of 0-9 A-Z a-z _ . -")
	case p.Title == "" || utf8.RuneCountInString(p.Title) > 100:
		return apperr.Invalidf("field \"title\" must be 1 to 100 characters")
	case p.Price < 1 || p.Price > MaxPrice:
		return apperr.Invalidf("field \"price\" must be 1 to %d fen", MaxPrice)
	case p.Stock != nil && (*p.Stock < 0 || *p.Stock > MaxStock):
		return apperr.Invalidf("field \"stock\" must be 0 to %d", MaxStock)
	}
	return nil
}

// Key returns the store key of the product with this SKU; its counter is the
// stock. Orders reserve and release stock on it.
func Key(sku string) store.Key { return store.Key{PK: catalogPK, SK: sku} }

// Service reads and writes the catalog.
type Service struct {
	Store store.Store
	Now   func() time.Time
}

// record is the stored value: the product without its stock (held in N).
type record struct {
	SKU       string    `json:"sku"`
	Title     string    `json:"title"`
	Price     int64     `json:"price"`
	Limited   bool      `json:"limited"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func decode(it store.Item) (Product, error) {
	var r record
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return Product{}, fmt.Errorf("product %s: %w", it.SK, err)
	}
	p := Product{SKU: r.SKU, Title: r.Title, Price: r.Price, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Limited {
		n := it.N
		p.Stock = &n
	}
	return p, nil
}

// Get returns the product with this SKU. Returns ErrNotFound if there is none.
func (s *Service) Get(ctx context.Context, sku string) (Product, error) {
	if !validSKU(sku) {
		return Product{}, ErrNotFound.WithMessage("no product has sku %q", sku)
	}
	it, err := s.Store.Get(ctx, Key(sku))
	if errors.Is(err, store.ErrNotFound) {
		return Product{}, ErrNotFound.WithMessage("no product has sku %q", sku)
	}
	if err != nil {
		return Product{}, err
	}
	return decode(it)
}

// List returns up to limit products in SKU order after the cursor, and the
// cursor of the next page ("" when there is none).
func (s *Service) List(ctx context.Context, after string, limit int) ([]Product, string, error) {
	items, next, err := s.Store.Query(ctx, catalogPK, store.Query{After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Product, 0, len(items))
	for _, it := range items {
		p, err := decode(it)
		if err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	return out, next, nil
}

// PutResult is the outcome of Put, and what its idempotency record holds.
type PutResult struct {
	Product Product `json:"product"`
	Created bool    `json:"created"` // false: an existing product was replaced
}

// Put creates the product, or replaces the one with the same SKU (keeping its
// creation time, and its stock when p.Stock is nil but the product was
// limited: use a stock of 0 to stop selling, Active false to hide it).
// idemKey, when non-zero, is written in the same transaction with the
// PutResult's JSON; if a record is already there, Put returns a
// *store.ConditionError with Index 1 and the caller replays the record.
func (s *Service) Put(ctx context.Context, p Product, idemKey idem.Key) (res PutResult, err error) {
	if err := p.Validate(); err != nil {
		return PutResult{}, err
	}
	// The product item is also the stock counter: orders bump its version, so
	// a conflict on it (op 0) is retried on a fresh read.
	for attempt := 0; attempt < 10; attempt++ {
		res, err = s.put(ctx, p, idemKey)
		if store.FailedOp(err) != 0 {
			return res, err
		}
	}
	return PutResult{}, err
}

func (s *Service) put(ctx context.Context, p Product, idemKey idem.Key) (PutResult, error) {
	now := s.Now().UTC()
	cur, err := s.Store.Get(ctx, Key(p.SKU))
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return PutResult{}, err
	}
	r := record{SKU: p.SKU, Title: p.Title, Price: p.Price, Active: p.Active, CreatedAt: now, UpdatedAt: now}
	var n int64
	if exists {
		old, err := decode(cur)
		if err != nil {
			return PutResult{}, err
		}
		r.CreatedAt = old.CreatedAt
		if p.Stock == nil && old.Limited() {
			p.Stock = old.Stock
		}
	}
	if p.Stock != nil {
		r.Limited, n = true, *p.Stock
	}
	val, err := json.Marshal(r)
	if err != nil {
		return PutResult{}, err
	}
	op := store.Put(store.Item{Key: Key(p.SKU), Value: val, N: n})
	if exists {
		op = op.IfVersion(cur.Version)
	} else {
		op = op.IfAbsent()
	}
	out, err := decode(store.Item{Key: Key(p.SKU), Value: val, N: n})
	if err != nil {
		return PutResult{}, err
	}
	res := PutResult{Product: out, Created: !exists}
	ops := []store.Op{op}
	if !idemKey.IsZero() {
		b, err := json.Marshal(res)
		if err != nil {
			return PutResult{}, err
		}
		ops = append(ops, idemKey.Op(b, now))
	}
	if err := s.Store.Write(ctx, ops...); err != nil {
		return PutResult{}, err
	}
	return res, nil
}

// validSKU: 1 to 64 letters, digits, _ . or -.
func validSKU(s string) bool { return ident.Valid(s, 1, 64, "_.-") }
