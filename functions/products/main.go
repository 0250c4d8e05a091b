// Command products serves GET /products and POST /products (admin): the catalog.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/productfn"
)

func main() { app.Main(productfn.Products) }
