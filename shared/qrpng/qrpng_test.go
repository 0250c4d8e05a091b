package qrpng_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/minifn/minifn/shared/qrpng"
)

// decode reads the QR code in a PNG back with an independent decoder.
func decode(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}) // the image is a code and nothing else: without the hint gozxing misreads some
	if err != nil {
		t.Fatalf("no QR code found: %v", err)
	}
	return res.GetText()
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		content string
		size    int
	}{
		{"7K3M-Q9XZ-0B2C-HJ4N", 0},
		{"ABCD-EFGH-JKMN-PQRS", 128},
		{"https://example.com/pages/coupon?id=01hzz", 512},
	} {
		b, err := qrpng.Encode(tc.content, tc.size)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		want := tc.size
		if want == 0 {
			want = qrpng.DefaultSize
		}
		if cfg.Width != want || cfg.Height != want {
			t.Errorf("%q: image is %dx%d, want %dx%d", tc.content, cfg.Width, cfg.Height, want, want)
		}
		if got := decode(t, b); got != tc.content {
			t.Errorf("decoded %q, want %q", got, tc.content)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		content string
		size    int
	}{{"", 0}, {"x", 10}, {"x", qrpng.MaxSize + 1}} {
		if _, err := qrpng.Encode(tc.content, tc.size); err == nil {
			t.Errorf("Encode(%q, %d) succeeded", tc.content, tc.size)
		}
	}
}
