package product_test

import (
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/product"
)

// TestNormalizeBarcode pins the check digit on published codes and on
// every kind of bad input.
func TestNormalizeBarcode(t *testing.T) {
	good := map[string]string{
		"4006381333931": "4006381333931", // EAN-13 (GS1 Germany prefix)
		"9780306406157": "9780306406157", // an ISBN-13, an EAN-13 of the 978 prefix
		"6901234567892": "6901234567892", // a Chinese (690) EAN-13
		"7622200004607": "7622200004607",
		"036000291452":  "0036000291452", // UPC-A: the leading 0 makes it its EAN-13
		"0036000291452": "0036000291452", // the same product scanned as EAN-13
		"000000000000":  "0000000000000",
	}
	for in, want := range good {
		got, err := product.NormalizeBarcode(in)
		if err != nil || got != want {
			t.Errorf("NormalizeBarcode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"4006381333932":  "check digit", // last digit off by one
		"4006381333913":  "check digit", // two digits swapped
		"036000291453":   "check digit",
		"9780306406150":  "check digit",
		"400638133393":   "check digit", // an EAN-13 missing its last digit reads as a bad UPC-A
		"40063813339":    "13 digits",
		"40063813339311": "13 digits",
		"":               "13 digits",
		"40063813339 1":  "digits only",
		"4006381333９31":  "13 digits", // a full-width digit is 3 bytes
		"-036000291452":  "digits only",
	}
	for in, want := range bad {
		_, err := product.NormalizeBarcode(in)
		e := apperr.From(err)
		if e.Code != "invalid_barcode" || e.Kind != apperr.Invalid || !strings.Contains(e.Error(), want) {
			t.Errorf("NormalizeBarcode(%q): %v; want invalid_barcode naming %q", in, err, want)
		}
	}
}

// FuzzNormalizeBarcode checks the properties of the check digit: an
// accepted code is 13 digits, normalising is idempotent, a UPC-A and its
// EAN-13 form agree, and any single-digit change of an accepted code is
// refused (what the check digit exists to catch).
func FuzzNormalizeBarcode(f *testing.F) {
	for _, s := range []string{"4006381333931", "036000291452", "9780306406157", "123", "abcdefghijklm", "0000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := product.NormalizeBarcode(in)
		if err != nil {
			if apperr.From(err).Code != "invalid_barcode" {
				t.Fatalf("%q: %v", in, err)
			}
			if len(in) == 12 {
				if _, err2 := product.NormalizeBarcode("0" + in); err2 == nil {
					t.Fatalf("UPC-A %q refused but its EAN-13 form accepted", in)
				}
			}
			return
		}
		if len(got) != 13 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("%q normalised to %q", in, got)
		}
		if again, err := product.NormalizeBarcode(got); err != nil || again != got {
			t.Fatalf("%q → %q → %q, %v", in, got, again, err)
		}
		if len(in) == 12 && got != "0"+in {
			t.Fatalf("UPC-A %q → %q", in, got)
		}
		for i := range 13 {
			for d := byte('0'); d <= '9'; d++ {
				if d == got[i] {
					continue
				}
				b := []byte(got)
				b[i] = d
				if _, err := product.NormalizeBarcode(string(b)); err == nil {
					t.Fatalf("%q accepted: one digit away from %q", b, got)
				}
			}
		}
	})
}
