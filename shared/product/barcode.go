package product

import (
	"context"
	"errors"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/store"
)

// barcodePK is the barcode index: one item per barcode (its EAN-13 form),
// whose value is the SKU that carries it. It is written in the same Write
// as the product save that sets, changes or removes the barcode, so it
// never points at a product that does not carry it.
const barcodePK = "product#barcode"

func barcodeKey(ean13 string) store.Key { return store.Key{PK: barcodePK, SK: ean13} }

var (
	// ErrInvalidBarcode is returned when a barcode is not 12 (UPC-A) or 13
	// (EAN-13) digits, or its check digit is wrong (a misread scan).
	ErrInvalidBarcode = apperr.New(apperr.Invalid, "invalid_barcode", "the barcode must be an EAN-13 or UPC-A with a valid check digit")
	// ErrBarcodeTaken is returned when a product is given a barcode that
	// another product already carries.
	ErrBarcodeTaken = apperr.New(apperr.Conflict, "barcode_taken", "another product carries this barcode")
)

// NormalizeBarcode checks a scanned barcode and returns its EAN-13 form: an
// EAN-13 as it is, a UPC-A (12 digits) with a leading 0, which is how
// EAN-13 embeds UPC-A, so that a product stored under either form is found
// by a scanner that reports the other. The check digit is verified (GS1:
// from the right, digits weigh 3 and 1 alternately, the check digit
// completes the sum to a multiple of 10). Returns ErrInvalidBarcode.
func NormalizeBarcode(code string) (string, error) {
	switch len(code) {
	case 12:
		code = "0" + code
	case 13:
	default:
		return "", ErrInvalidBarcode.WithMessage("barcode %q must be 13 digits (EAN-13) or 12 digits (UPC-A)", clip(code))
	}
	sum := 0
	for i := 0; i < 13; i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return "", ErrInvalidBarcode.WithMessage("barcode %q must be digits only", clip(code))
		}
		d := int(c - '0')
		if i < 12 && i%2 == 1 {
			d *= 3 // EAN-13 positions 2, 4, …, 12 (counted from the left) weigh 3
		}
		if i < 12 {
			sum += d
		}
	}
	if want := (10 - sum%10) % 10; int(code[12]-'0') != want {
		return "", ErrInvalidBarcode.WithMessage("barcode %q has check digit %c; the digits before it give %d (misread?)", code, code[12], want)
	}
	return code, nil
}

// clip shortens what an error message repeats of a bad barcode.
func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// GetByBarcode returns the product that carries barcode (EAN-13 or UPC-A,
// either form of the same code). Returns ErrInvalidBarcode, ErrNotFound.
func (s *Service) GetByBarcode(ctx context.Context, barcode string) (Product, error) {
	ean, err := NormalizeBarcode(barcode)
	if err != nil {
		return Product{}, err
	}
	it, err := s.st.Get(ctx, barcodeKey(ean))
	if errors.Is(err, store.ErrNotFound) {
		return Product{}, ErrNotFound.WithMessage("no product has barcode %s", ean)
	}
	if err != nil {
		return Product{}, err
	}
	return s.Get(ctx, string(it.Value))
}
