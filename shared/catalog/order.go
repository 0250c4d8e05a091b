package catalog

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/httpapi"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/pay"
	"github.com/minifn/minifn/shared/platform"
	"github.com/minifn/minifn/shared/product"
)

func productService(a *app.App) *product.Service {
	return &product.Service{Store: a.Store, Now: a.Now}
}

// orderService builds the order service with the WeChat Pay client, which
// every order function needs (prepay, close, query, refund).
func orderService(a *app.App) (*order.Service, *pay.Client, error) {
	pc, err := a.Pay()
	if err != nil {
		return nil, nil, err
	}
	hook, err := paidHook(a) // points, attribution, subscribe message (engage.go)
	if err != nil {
		return nil, nil, err
	}
	return &order.Service{Store: a.Store, Products: productService(a), Pay: pc, Coupons: couponService(a),
		Now: a.Now, TTL: a.Config.OrderTTL, Paid: hook}, pc, nil
}

// Products lists the catalog (anyone) and creates or replaces products (admin).
var Products = Spec{
	Name:   "products",
	Routes: []string{"GET /products", "POST /products"},
	Build: func(a *app.App) (platform.Function, error) {
		h := httpapi.Products(productService(a), a.Store)
		return platform.Function{Handler: router(map[string]http.Handler{
			"GET /products":  h,
			"POST /products": a.Sessions.RequireAdmin(h),
		})}, nil
	},
}

// OrderCreate places an order and prepays it at WeChat Pay.
var OrderCreate = Spec{
	Name:   "order-create",
	Routes: []string{"POST /orders"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		create, err := a.RateLimit(app.RateActionOrder, a.Sessions.Require(httpapi.OrderCreate(svc)))
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: router(map[string]http.Handler{
			"POST /orders": create,
		})}, nil
	},
}

// Orders lists, shows and cancels the caller's orders; the admin token
// lists and shows every user's.
var Orders = Spec{
	Name:   "orders",
	Routes: []string{"GET /orders", "GET /orders/{id}", "POST /orders/{id}/cancel"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		h := httpapi.Orders(svc)
		read := a.Sessions.RequireAny(h)
		return platform.Function{Handler: router(map[string]http.Handler{
			"GET /orders": read, "GET /orders/{id}": read, "POST /orders/{id}/cancel": a.Sessions.Require(h),
		})}, nil
	},
}

// PayNotify receives WeChat Pay's payment and refund notifies. It has no
// session: the notify's signature is its authentication.
var PayNotify = Spec{
	Name:   "pay-notify",
	Routes: []string{"POST /pay/notify"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, pc, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: router(map[string]http.Handler{
			"POST /pay/notify": httpapi.PayNotify(pc, svc),
		})}, nil
	},
}

// OrderExpire is the timer that closes unpaid orders older than MINIFN_ORDER_TTL.
var OrderExpire = Spec{
	Name: "order-expire",
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Job: func(ctx context.Context) error {
			n, err := svc.Expire(ctx)
			slog.InfoContext(ctx, "order-expire", "closed", n, "err", err)
			return err
		}}, nil
	},
}

// Refund refunds a paid order (admin).
var Refund = Spec{
	Name:   "refund",
	Routes: []string{"POST /orders/{id}/refund"},
	Build: func(a *app.App) (platform.Function, error) {
		svc, _, err := orderService(a)
		if err != nil {
			return platform.Function{}, err
		}
		return platform.Function{Handler: router(map[string]http.Handler{
			"POST /orders/{id}/refund": a.Sessions.RequireAdmin(httpapi.Refund(svc)),
		})}, nil
	},
}
