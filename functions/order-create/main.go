// Command order-create serves POST /orders: places an order and prepays it at WeChat Pay.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/orderfn"
)

func main() { app.Main(orderfn.OrderCreate) }
