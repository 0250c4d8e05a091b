// Command orders serves GET /orders, GET /orders/{id} and POST /orders/{id}/cancel.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/orderfn"
)

func main() { app.Main(orderfn.Orders) }
