// Command coupons serves GET /coupons and GET /coupons/{id}/qr: the caller's coupons.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/couponfn"
)

func main() { app.Main(couponfn.Coupons) }
