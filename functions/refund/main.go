// Command refund serves POST /orders/{id}/refund (admin).
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Refund) }
