// Command products serves GET /products and POST /products (admin): the catalog.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Products) }
