// Command qrcode serves POST /qrcode (Mini-Program codes), GET
// /scenes/{scene} and the admin's GET /attribution.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/engagefn"
)

func main() { app.Main(engagefn.QRCode) }
