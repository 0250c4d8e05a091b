// Command coupon-redeem serves POST /coupons/redeem (staff or admin) and PUT/DELETE /staff/{openid} (admin).
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.CouponRedeem) }
