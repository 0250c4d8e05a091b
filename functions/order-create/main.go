// Command order-create serves POST /orders: places an order and prepays it at WeChat Pay.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.OrderCreate) }
