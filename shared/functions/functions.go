// Package functions lists minifn's functions. Each function is an app.Spec:
// its name (the directory under functions/), the routes it serves, and how
// to build it from an *app.App. `minifn dev` (every route on one server),
// `minifn invoke`, `minifn build` and the deploy tests start from All.
//
// The Specs live with their HTTP handlers in one package per feature:
//
//   - accounts: login, me
//   - coupons: campaigns, coupon-claim, coupons, coupon-redeem
//   - products: products
//   - orders: order-create, orders, pay-notify, order-expire, refund
//   - engage: qrcode, points
//   - admin: admin (the merchant console)
//   - wxpush: wx-push (WeChat's message push)
//   - wallet: wallet (stored value; its notifies go through pay-notify)
//   - gift cards: giftcards (bought by WeChat Pay, claimed into a wallet)
//   - members: members (tiers; growth is kept by the order functions)
//   - bookings: bookings (slots per store, seats, check-in; order-expire sends the reminders)
//   - stores: stores (physical stores, nearby; package outlet)
//
// A function's main imports its feature's package, never this one, so that
// its binary links only that feature: the others' packages (WeChat Pay, QR
// images) would add their weight and their package init to every cold
// start (BENCHMARKS.md).
//
// # Adding a function
//
// Put its Spec in its feature's package (or a new one), add one line to
// All, and create functions/<name>/main.go holding
// `func main() { app.Main(feature.X) }`. A Build does only its own
// function's work: it is the cold start of that binary.
package functions

import (
	"slices"
	"strings"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/accountfn"
	"github.com/minifn/minifn/shared/functions/adminfn"
	"github.com/minifn/minifn/shared/functions/bookingfn"
	"github.com/minifn/minifn/shared/functions/couponfn"
	"github.com/minifn/minifn/shared/functions/engagefn"
	"github.com/minifn/minifn/shared/functions/giftcardfn"
	"github.com/minifn/minifn/shared/functions/memberfn"
	"github.com/minifn/minifn/shared/functions/orderfn"
	"github.com/minifn/minifn/shared/functions/outletfn"
	"github.com/minifn/minifn/shared/functions/productfn"
	"github.com/minifn/minifn/shared/functions/walletfn"
	"github.com/minifn/minifn/shared/functions/wxpushfn"
)

// Spec describes one function (see app.Spec).
type Spec = app.Spec

// All returns every function, sorted by name. Feature packages add one line.
func All() []Spec {
	specs := []Spec{
		accountfn.Login,
		accountfn.Me,
		engagefn.QRCode,
		engagefn.Points,
		couponfn.Campaigns,
		couponfn.CouponClaim,
		couponfn.Coupons,
		couponfn.CouponRedeem,
		productfn.Products,
		orderfn.OrderCreate,
		orderfn.Orders,
		orderfn.PayNotify,
		orderfn.OrderExpire,
		orderfn.Refund,
		adminfn.Admin,
		wxpushfn.WxPush,
		walletfn.Wallet,
		giftcardfn.GiftCards,
		memberfn.Members,
		bookingfn.Bookings,
		outletfn.Stores,
	}
	slices.SortFunc(specs, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// Lookup returns the Spec named name.
func Lookup(name string) (Spec, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}
