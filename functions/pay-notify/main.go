// Command pay-notify serves POST /pay/notify, WeChat Pay's payment and refund callback.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/orderfn"
)

func main() { app.Main(orderfn.PayNotify) }
