// Command qrcode serves POST /qrcode (Mini-Program codes), GET
// /scenes/{scene} and the admin's GET /attribution.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/engage"
)

func main() { app.Main(engage.QRCode) }
