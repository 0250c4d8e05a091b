// Package product implements the shop's catalog: products with a price in fen
// and an optional stock that orders reserve with a bounded counter.
//
// # Key layout
//
//	product#catalog / <sku>     Value: the Product JSON; N: remaining stock
//	product#barcode / <ean13>   Value: the SKU that carries the barcode (barcode.go)
//
// The stock lives in the product item's counter, so that GET /products is one
// Query and an order reserves stock with store.Add(key, -q).AtLeast(0) on the
// same key (Add changes only N, never the Value). A product with Limited false
// has no stock limit and its counter is ignored.
//
// # Stock and pending orders
//
// The stock is what can still be sold. A pending order holds its units: they
// were subtracted when it was created, and they come back (store.Add(key, +q))
// when it is cancelled or closed unpaid. So a stock of 0 means "none left right
// now", not "stop selling": a cancel after it puts units back on sale. To stop
// selling, set Active to false; orders check it and returning units do not
// change it.
//
// # Versions
//
// A product's Version counts the merchant's edits of its fields (title, price,
// active, an absolute stock), not the stock's movements: orders, cancels,
// expiry and a stock_delta change only the counter, so a merchant who loaded
// version 3 can still save while orders sell. An Edit with IfVersion is
// refused with ErrVersionConflict when another edit landed since. Every write
// is one Put conditioned on the item's store version, read again and retried
// when an order moved the counter in between, so no sale is ever overwritten.
//
// # Caveats
//
//   - Every product shares one partition (about 1,000 writes/s on DynamoDB),
//     which is far above what one Mini-Program shop sells; a flash sale of one
//     SKU is bounded by the same limit whatever the layout.
//   - An absolute stock (Edit.Stock) is the number left to sell from the
//     moment it lands: a recount. Sales made between the merchant's read and
//     the save are not subtracted from it; adjust with StockDelta instead.
//   - During a flash sale of the SKU, an edit may need several attempts; after
//     maxAttempts it fails with store.ErrConditionFailed (409 conflict).
package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/ident"
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
	// ErrVersionConflict is returned when an Edit's IfVersion is not the
	// product's version: another edit landed since the editor loaded it (or,
	// with IfVersion 0, the product already exists).
	ErrVersionConflict = apperr.New(apperr.Conflict, "version_conflict", "the product was edited meanwhile; reload it")
	// ErrStockNegative is returned when a StockDelta would take the stock
	// below 0 (the stock is left as it is).
	ErrStockNegative = apperr.New(apperr.Conflict, "stock_negative", "the stock cannot go below 0")
	// ErrStockUnlimited is returned for a StockDelta on a product with no
	// stock limit: there is no count to adjust (set Stock to start one).
	ErrStockUnlimited = apperr.New(apperr.Conflict, "stock_unlimited", "the product has no stock limit")
)

// Product is one item of the catalog.
type Product struct {
	SKU     string `json:"sku"`
	Title   string `json:"title"`
	Price   int64  `json:"price"`           // fen
	Stock   *int64 `json:"stock,omitempty"` // remaining; absent when unlimited
	Active  bool   `json:"active"`          // on sale; inactive products are listed to admins only
	Version int64  `json:"version"`         // counts the merchant's edits (see the package doc)
	// Fulfillment is how the product reaches the buyer, for WeChat's
	// shipping upload: FulfillVirtual, FulfillPickup or FulfillExpress;
	// "" follows MINIFN_SHIPPING_MODE.
	Fulfillment string `json:"fulfillment,omitempty"`
	// Barcode is the product's EAN-13 (a UPC-A is stored in its EAN-13
	// form, with a leading 0), found by GET /products/barcode/{code}.
	Barcode   string    `json:"barcode,omitempty"`
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
	case !ValidFulfillment(p.Fulfillment):
		return apperr.Invalidf("field \"fulfillment\" must be virtual, pickup or express")
	}
	return nil
}

// Fulfillments of a product (Product.Fulfillment).
const (
	FulfillVirtual = "virtual" // nothing is carried (WeChat logistics type 3)
	FulfillPickup  = "pickup"  // the buyer collects it (4)
	FulfillExpress = "express" // an express company carries it (1): the order needs an address
)

// ValidFulfillment reports whether f is a fulfillment ("" included: the default).
func ValidFulfillment(f string) bool {
	return f == "" || f == FulfillVirtual || f == FulfillPickup || f == FulfillExpress
}

// Key returns the store key of the product with this SKU; its counter is the
// stock. Orders reserve and release stock on it.
func Key(sku string) store.Key { return store.Key{PK: catalogPK, SK: sku} }

// Service reads and writes the catalog.
type Service struct {
	st store.Store
	o  Options
}

// Options are the settings of a Service.
type Options struct {
	Now func() time.Time // nil: time.Now
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service { return &Service{st: st, o: o} }

// record is the stored value: the product without its stock (held in N).
type record struct {
	SKU       string    `json:"sku"`
	Title     string    `json:"title"`
	Price     int64     `json:"price"`
	Limited   bool      `json:"limited"`
	Active    bool      `json:"active"`
	Version   int64     `json:"version,omitempty"` // absent in records older than versions: 1
	Fulfill   string    `json:"fulfillment,omitempty"`
	Barcode   string    `json:"barcode,omitempty"` // EAN-13 form; indexed in product#barcode
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func decodeRecord(it store.Item) (record, error) {
	var r record
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return record{}, fmt.Errorf("product %s: %w", it.SK, err)
	}
	if r.Version == 0 {
		r.Version = 1
	}
	return r, nil
}

func (r record) product(n int64) Product {
	p := Product{SKU: r.SKU, Title: r.Title, Price: r.Price, Active: r.Active, Version: r.Version,
		Fulfillment: r.Fulfill, Barcode: r.Barcode, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Limited {
		p.Stock = &n
	}
	return p
}

func decode(it store.Item) (Product, error) {
	r, err := decodeRecord(it)
	if err != nil {
		return Product{}, err
	}
	return r.product(it.N), nil
}

// Get returns the product with this SKU. Returns ErrNotFound if there is none.
func (s *Service) Get(ctx context.Context, sku string) (Product, error) {
	if !validSKU(sku) {
		return Product{}, ErrNotFound.WithMessage("no product has sku %q", sku)
	}
	it, err := s.st.Get(ctx, Key(sku))
	if errors.Is(err, store.ErrNotFound) {
		return Product{}, ErrNotFound.WithMessage("no product has sku %q", sku)
	}
	if err != nil {
		return Product{}, err
	}
	return decode(it)
}

// List returns up to limit products in SKU order after the cursor, and the
// cursor of the next page ("" when there is none). With all false it skips
// inactive products (what shoppers see); all true is the admin's list.
func (s *Service) List(ctx context.Context, after string, limit int, all bool) ([]Product, string, error) {
	out := make([]Product, 0, limit)
	for {
		items, next, err := s.st.Query(ctx, catalogPK, store.Query{After: after, Limit: limit})
		if err != nil {
			return nil, "", err
		}
		for i, it := range items {
			p, err := decode(it)
			if err != nil {
				return nil, "", err
			}
			if !all && !p.Active {
				continue
			}
			out = append(out, p)
			if len(out) == limit {
				if i == len(items)-1 {
					return out, next, nil
				}
				return out, it.SK, nil
			}
		}
		if next == "" {
			return out, "", nil
		}
		after = next
	}
}

// Edit is one change to a product, as POST /products carries it: the fields
// that are set change, the others keep their value. A new product needs
// Title and Price; Active defaults to true and Stock to unlimited.
//
// The fields are in the order of the request body, and their JSON is the
// request's idempotency fingerprint (idem.New): reordering or renaming them
// makes a retry in flight at deploy time look like another request.
type Edit struct {
	SKU        string  `json:"sku"`
	Title      *string `json:"title"`
	Price      *int64  `json:"price"`
	Stock      *int64  `json:"stock"`       // the absolute number left to sell from now on
	StockDelta *int64  `json:"stock_delta"` // added to the stock as it is when the edit lands
	Active     *bool   `json:"active"`
	IfVersion  *int64  `json:"if_version"` // the Version the editor loaded; 0: the product must not exist yet
	// Fulfillment sets Product.Fulfillment ("" sets it back to the default).
	Fulfillment *string `json:"fulfillment"`
	// Barcode sets Product.Barcode (EAN-13 or UPC-A; "" removes it). It is
	// omitted when absent so that the fingerprint of edits without it is
	// what it was before barcodes existed.
	Barcode *string `json:"barcode,omitempty"`
}

// Validate checks the fields that are set, on their own.
func (e Edit) Validate() error {
	switch {
	case !validSKU(e.SKU):
		return apperr.Invalidf("field \"sku\" must be 1 to 64 characters of 0-9 A-Z a-z _ . -")
	case e.Stock != nil && e.StockDelta != nil:
		return apperr.Invalidf("fields \"stock\" and \"stock_delta\" do not go together: stock sets the stock, stock_delta adjusts it")
	case e.StockDelta != nil && (*e.StockDelta < -MaxStock || *e.StockDelta > MaxStock):
		return apperr.Invalidf("field \"stock_delta\" must be -%d to %d", MaxStock, MaxStock)
	case e.IfVersion != nil && *e.IfVersion < 0:
		return apperr.Invalidf("field \"if_version\" must be 0 or more")
	}
	p := Product{SKU: e.SKU, Title: "t", Price: 1, Stock: e.Stock}
	if e.Fulfillment != nil {
		p.Fulfillment = *e.Fulfillment
	}
	if e.Title != nil {
		p.Title = *e.Title
	}
	if e.Price != nil {
		p.Price = *e.Price
	}
	if e.Barcode != nil && *e.Barcode != "" {
		if _, err := NormalizeBarcode(*e.Barcode); err != nil {
			return err
		}
	}
	return p.Validate()
}

// fields reports whether e sets a field that counts as an edit (everything
// but StockDelta, which moves the stock as a sale does).
func (e Edit) fields() bool {
	return e.Title != nil || e.Price != nil || e.Active != nil || e.Stock != nil || e.Fulfillment != nil || e.Barcode != nil
}

// PutResult is the outcome of Put and Save, and what their idempotency
// record holds.
type PutResult struct {
	Product Product `json:"product"`
	Created bool    `json:"created"` // false: an existing product was replaced
}

// IdemAction is the idempotency action of an admin's product edit.
const IdemAction = "products"

// maxAttempts bounds how often a write is retried after orders moved the
// stock counter under it.
const maxAttempts = 30

// errCorruptRecord is returned when an idempotency record does not hold a
// PutResult (a bug: it is written by Save only).
var errCorruptRecord = errors.New("products: corrupt idempotency record")

// Put creates the product, or replaces the one with the same SKU (keeping its
// creation time, and its stock when p.Stock is nil but the product was
// limited). Active false takes it off sale; a stock of 0 does not (see the
// package doc). It records no idempotency key: it is how tests and tools
// stock the catalog.
func (s *Service) Put(ctx context.Context, p Product) (PutResult, error) {
	if err := p.Validate(); err != nil {
		return PutResult{}, err
	}
	res, _, err := s.Save(ctx, Edit{SKU: p.SKU, Title: &p.Title, Price: &p.Price, Active: &p.Active, Stock: p.Stock,
		Fulfillment: &p.Fulfillment, Barcode: &p.Barcode}, "")
	return res, err
}

// Save applies an admin's edit: it creates the product or changes the fields
// e sets. idemKey, if not empty, is the admin's Idempotency-Key: its record is
// written in the same transaction as the product, and a repeat of the same
// edit returns the first PutResult and replayed true, changing nothing.
// Returns invalid_request errors, idem.ErrBadKey, idem.ErrKeyReused (the key
// came with another edit), ErrVersionConflict (IfVersion is stale),
// ErrNotFound (IfVersion ≥ 1 or a StockDelta for a product that does not
// exist), ErrStockNegative, ErrStockUnlimited.
func (s *Service) Save(ctx context.Context, e Edit, idemKey string) (res PutResult, replayed bool, err error) {
	if err := e.Validate(); err != nil {
		return PutResult{}, false, err
	}
	ik, err := idem.New(IdemAction, "admin", idemKey, e)
	if err != nil {
		return PutResult{}, false, err
	}
	if res, ok, err := replay(ctx, s.st, ik); ok || err != nil {
		return res, ok, err
	}
	// The product item is also the stock counter: orders bump its version, so
	// a conflict on it (op 0) is retried on a fresh read. A conflict on the
	// idempotency record (op 1) is a concurrent duplicate that won: its
	// outcome is ours.
	for attempt := 0; attempt < maxAttempts; attempt++ {
		res, err = s.save(ctx, e, ik)
		switch store.FailedOp(err) {
		case 0:
		case 1:
			if res, ok, rerr := replay(ctx, s.st, ik); ok || rerr != nil {
				return res, ok, rerr
			}
			return PutResult{}, false, err
		default:
			return res, false, err
		}
		if werr := backoff(ctx, attempt); werr != nil {
			return PutResult{}, false, werr
		}
	}
	return PutResult{}, false, err
}

// replay returns the recorded outcome of ik, if any.
func replay(ctx context.Context, st store.Store, ik idem.Key) (PutResult, bool, error) {
	b, ok, err := ik.Lookup(ctx, st)
	if err != nil || !ok {
		return PutResult{}, false, err
	}
	var res PutResult
	if err := json.Unmarshal(b, &res); err != nil {
		return PutResult{}, false, errors.Join(errCorruptRecord, err)
	}
	return res, true, nil
}

// backoff waits a random while, longer after each attempt (at most 20 ms), so
// that editors racing a flash sale do not retry in lockstep.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(time.Millisecond<<attempt, 20*time.Millisecond)) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *Service) save(ctx context.Context, e Edit, idemKey idem.Key) (PutResult, error) {
	now := s.o.Now().UTC()
	cur, err := s.st.Get(ctx, Key(e.SKU))
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return PutResult{}, err
	}
	var r record
	var n int64
	if exists {
		if r, err = decodeRecord(cur); err != nil {
			return PutResult{}, err
		}
		n = cur.N
	}
	switch {
	case e.IfVersion != nil && !exists && *e.IfVersion != 0:
		return PutResult{}, ErrNotFound.WithMessage("no product has sku %q: if_version %d names a product that does not exist", e.SKU, *e.IfVersion)
	case e.IfVersion != nil && exists && *e.IfVersion != r.Version:
		return PutResult{}, ErrVersionConflict.WithMessage("product %q is at version %d, not %d: it was edited meanwhile; reload it and edit again", e.SKU, r.Version, *e.IfVersion)
	case !exists && e.StockDelta != nil:
		return PutResult{}, ErrNotFound.WithMessage("no product has sku %q: stock_delta adjusts an existing product's stock; create it with stock", e.SKU)
	case !exists && e.Title == nil:
		return PutResult{}, apperr.Invalidf("field \"title\" is required")
	case !exists && e.Price == nil:
		return PutResult{}, apperr.Invalidf("field \"price\" is required")
	}
	if !exists {
		r = record{SKU: e.SKU, Active: true, CreatedAt: now}
	}
	if e.Title != nil {
		r.Title = *e.Title
	}
	if e.Price != nil {
		r.Price = *e.Price
	}
	if e.Active != nil {
		r.Active = *e.Active
	}
	if e.Fulfillment != nil {
		r.Fulfill = *e.Fulfillment
	}
	oldBarcode := r.Barcode
	if e.Barcode != nil {
		r.Barcode = ""
		if *e.Barcode != "" {
			if r.Barcode, err = NormalizeBarcode(*e.Barcode); err != nil {
				return PutResult{}, err
			}
		}
	}
	if e.Stock != nil {
		r.Limited, n = true, *e.Stock
	}
	if d := e.StockDelta; d != nil {
		switch {
		case !r.Limited:
			return PutResult{}, ErrStockUnlimited.WithMessage("product %q has no stock limit: set \"stock\" to start counting", e.SKU)
		case n+*d < 0:
			return PutResult{}, ErrStockNegative.WithMessage("product %q has %d in stock: a stock_delta of %d would leave %d", e.SKU, n, *d, n+*d)
		case n+*d > MaxStock:
			return PutResult{}, apperr.Invalidf("field \"stock_delta\": product %q has %d in stock, and the stock may not exceed %d", e.SKU, n, MaxStock)
		}
		n += *d
	}
	switch {
	case !exists:
		r.Version = 1
	case e.fields():
		r.Version++
	}
	r.UpdatedAt = now
	out := r.product(n)
	if err := out.Validate(); err != nil {
		return PutResult{}, err
	}
	val, err := json.Marshal(r)
	if err != nil {
		return PutResult{}, err
	}
	op := store.Put(store.Item{Key: Key(e.SKU), Value: val, N: n})
	if exists {
		op = op.IfVersion(cur.Version)
	} else {
		op = op.IfAbsent()
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
	// The barcode index moves in the same Write, after the ops whose
	// failure Save retries or replays: a failure of the new entry's
	// IfAbsent means another product carries the barcode.
	claim := -1
	if r.Barcode != oldBarcode {
		if oldBarcode != "" {
			ops = append(ops, store.Delete(barcodeKey(oldBarcode)))
		}
		if r.Barcode != "" {
			claim = len(ops)
			ops = append(ops, store.Put(store.Item{Key: barcodeKey(r.Barcode), Value: []byte(e.SKU)}).IfAbsent())
		}
	}
	if err := s.st.Write(ctx, ops...); err != nil {
		if claim >= 0 && store.FailedOp(err) == claim {
			return PutResult{}, s.barcodeTaken(ctx, r.Barcode)
		}
		return PutResult{}, err
	}
	return res, nil
}

// barcodeTaken is ErrBarcodeTaken naming the product that carries ean.
func (s *Service) barcodeTaken(ctx context.Context, ean string) error {
	if it, err := s.st.Get(ctx, barcodeKey(ean)); err == nil {
		return ErrBarcodeTaken.WithMessage("barcode %s is carried by product %q", ean, it.Value)
	}
	return ErrBarcodeTaken.WithMessage("barcode %s is carried by another product", ean)
}

// validSKU: 1 to 64 letters, digits, _ . or -.
func validSKU(s string) bool { return ident.Valid(s, 1, 64, "_.-") }
