// Command products serves GET /products and POST /products (admin): the catalog.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/products"
)

func main() { app.Main(products.Products) }
