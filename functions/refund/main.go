// Command refund serves POST /orders/{id}/refund (admin).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/orders"
)

func main() { app.Main(orders.Refund) }
