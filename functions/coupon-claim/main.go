// Command coupon-claim serves POST /coupons/claim: the flash-sale claim.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/coupons"
)

func main() { app.Main(coupons.CouponClaim) }
