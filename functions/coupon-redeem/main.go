// Command coupon-redeem serves POST /coupons/redeem (staff or admin) and PUT/DELETE /staff/{openid} (admin).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/couponfn"
)

func main() { app.Main(couponfn.CouponRedeem) }
