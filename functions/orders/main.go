// Command orders serves GET /orders, GET /orders/{id} and POST /orders/{id}/cancel.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Orders) }
