// Command admin serves the merchant console at /admin/.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Admin) }
