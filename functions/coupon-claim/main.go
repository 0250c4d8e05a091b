// Command coupon-claim serves POST /coupons/claim: the flash-sale claim.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.CouponClaim) }
