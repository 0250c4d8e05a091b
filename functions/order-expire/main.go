// Command order-expire is the timer that closes unpaid orders older than MINIFN_ORDER_TTL.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/orderfn"
)

func main() { app.Main(orderfn.OrderExpire) }
