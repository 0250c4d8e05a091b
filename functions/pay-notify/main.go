// Command pay-notify serves POST /pay/notify, WeChat Pay's payment and refund callback.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.PayNotify) }
