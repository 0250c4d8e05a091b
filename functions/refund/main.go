// Command refund serves POST /orders/{id}/refund (admin).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/orderfn"
)

func main() { app.Main(orderfn.Refund) }
