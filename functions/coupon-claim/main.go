// Command coupon-claim serves POST /coupons/claim: the flash-sale claim.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/couponfn"
)

func main() { app.Main(couponfn.CouponClaim) }
