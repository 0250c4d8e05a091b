package coupon

import "github.com/minifn/minifn/shared/apperr"

// Errors of campaigns and claims.
var (
	// ErrCampaignNotFound is returned when no campaign has the given id.
	ErrCampaignNotFound = apperr.New(apperr.NotFound, "campaign_not_found", "no such campaign")
	// ErrNoUser is returned when a coupon is claimed without a signed-in user.
	ErrNoUser = apperr.New(apperr.Unauthenticated, "unauthenticated", "sign in first")
	// ErrSoldOut is returned when every unit of the campaign's stock is taken.
	ErrSoldOut = apperr.New(apperr.Conflict, "sold_out", "the campaign is sold out")
	// ErrLimitReached is returned when the caller holds per_user_limit coupons of the campaign.
	ErrLimitReached = apperr.New(apperr.Conflict, "limit_reached", "you have claimed as many coupons of this campaign as allowed")
	// ErrNotStarted is returned before the campaign's claim window opens.
	ErrNotStarted = apperr.New(apperr.Forbidden, "not_started", "the campaign has not started yet")
	// ErrCampaignEnded is returned after the claim window closed or the campaign was ended.
	ErrCampaignEnded = apperr.New(apperr.Gone, "campaign_ended", "the campaign has ended")
	// ErrCampaignPaused is returned while an admin has paused the campaign.
	ErrCampaignPaused = apperr.New(apperr.Forbidden, "campaign_paused", "the campaign is paused")
)

// Errors of coupons, redemption and orders.
var (
	// ErrCouponNotFound is returned when the caller has no coupon with the given id.
	ErrCouponNotFound = apperr.New(apperr.NotFound, "coupon_not_found", "no such coupon")
	// ErrUnknownCode is returned when no coupon has the given redemption code.
	ErrUnknownCode = apperr.New(apperr.NotFound, "unknown_code", "no coupon has this code")
	// ErrAlreadyUsed is returned when the coupon was already used.
	ErrAlreadyUsed = apperr.New(apperr.Conflict, "already_used", "the coupon was already used")
	// ErrExpired is returned when the coupon's validity has passed.
	ErrExpired = apperr.New(apperr.Gone, "expired", "the coupon has expired")
	// ErrNotYetValid is returned before the coupon's valid_from.
	ErrNotYetValid = apperr.New(apperr.Conflict, "coupon_not_yet_valid", "the coupon is not valid yet")
	// ErrCouponLocked is returned when a store redemption meets a coupon held by an unpaid order.
	ErrCouponLocked = apperr.New(apperr.Conflict, "coupon_locked", "the coupon is held by an unpaid order")
	// ErrCouponUnusable is returned when an order step meets a coupon that is
	// used, or locked to another order.
	ErrCouponUnusable = apperr.New(apperr.Conflict, "coupon_unusable", "the coupon cannot be used for this order")
	// ErrMinSpendNotMet is returned when the order's subtotal is below the coupon's min_spend.
	ErrMinSpendNotMet = apperr.New(apperr.Conflict, "min_spend_not_met", "the order does not reach the coupon's minimum spend")
	// ErrNotStaff is returned when a user without the staff role (see
	// Options.Staff) tries to redeem. Its code is package outlet's, which
	// owns the role.
	ErrNotStaff = apperr.New(apperr.Forbidden, "not_staff", "the staff role is required")
	// ErrBusy is returned when a conditional update lost to concurrent writers too many times.
	ErrBusy = apperr.New(apperr.Conflict, "conflict", "the item changed; try again")
)
