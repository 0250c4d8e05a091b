// Package qrpng renders text as a QR code in a PNG image (with
// github.com/skip2/go-qrcode), for codes shown on a phone and scanned at a
// store counter.
package qrpng

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// DefaultSize is the image's width and height in pixels when size is 0.
const DefaultSize = 256

// MaxSize bounds the image so that a request cannot make us draw a poster.
const MaxSize = 1024

// ContentType is the media type of what Encode returns.
const ContentType = "image/png"

// Encode returns a PNG of content as a QR code, size×size pixels (0:
// DefaultSize). The recovery level is Medium (15%): enough for a scratched
// phone screen, while keeping modules large for cheap scanners.
func Encode(content string, size int) ([]byte, error) {
	if size == 0 {
		size = DefaultSize
	}
	if size < 64 || size > MaxSize {
		return nil, fmt.Errorf("qrpng: size %d is outside 64 to %d", size, MaxSize)
	}
	if content == "" {
		return nil, fmt.Errorf("qrpng: empty content")
	}
	return qrcode.Encode(content, qrcode.Medium, size)
}
