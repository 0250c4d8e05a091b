// Command orders serves GET /orders, GET /orders/{id} and POST /orders/{id}/cancel.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/orders"
)

func main() { app.Main(orders.Orders) }
