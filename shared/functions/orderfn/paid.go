package orderfn

import (
	"context"
	"log/slog"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/points"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/subscribe"
)

// logHookErr logs what a paid hook could not do; see paidHooks.
func logHookErr(ctx context.Context, what, orderID string, err error) {
	if err != nil {
		slog.WarnContext(ctx, "order paid: "+what+" failed", "order", orderID, "err", err)
	}
}

// paidHooks is what happens when an order is paid: points (once per
// transaction), attribution counters (once per order), the subscribe
// message (once per order, best effort).
type paidHooks struct {
	points *points.Service
	scenes *scene.Service
	subs   *subscribe.Service
}

func (h paidHooks) OrderPaid(ctx context.Context, owner string, o order.Order) error {
	if _, err := h.points.CreditOrderTimes(ctx, owner, o.ID, o.TransactionID, o.Total, o.PointsMultiplier); err != nil {
		return err
	}
	if err := h.scenes.OrderPaid(ctx, owner, o.ID, scene.Touch{Scene: o.Scene, Referrer: o.Referrer}, o.Total); err != nil {
		return err
	}
	p := subscribe.Paid{OpenID: owner, OrderID: o.ID, Total: o.Total}
	if len(o.Items) > 0 {
		p.Title = o.Items[0].Title
	}
	if o.PaidAt != nil {
		p.PaidAt = *o.PaidAt
	}
	if h.subs == nil {
		return nil
	}
	// A message that could not be sent must not fail the payment.
	_, err := h.subs.OrderPaid(ctx, p)
	logHookErr(ctx, "subscribe message", o.ID, err)
	return nil
}

// NewPaidHook returns the PaidHook of the order functions: points from ps,
// attribution counters from sc, the subscribe message from subs (nil: no
// message). Tests use it to run the real hook.
func NewPaidHook(ps *points.Service, sc *scene.Service, subs *subscribe.Service) order.PaidHook {
	return paidHooks{points: ps, scenes: sc, subs: subs}
}

// paidHook builds the order service's PaidHook; its points service is also
// the one that takes points back on refunds (order.Service.Points).
func paidHook(a *app.App) (paidHooks, error) {
	subs, err := a.Subscribe()
	if err != nil {
		return paidHooks{}, err
	}
	return paidHooks{points: points.New(a.Store, points.Options{Now: a.Now, PerYuan: a.Config.Engage.PointsPerYuan}),
		scenes: scene.New(a.Store, scene.Options{Now: a.Now}), subs: subs}, nil
}
