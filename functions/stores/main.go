// Command stores serves GET /stores (nearby, or paged), GET /stores/{id},
// and POST and PUT /stores (admin): the merchant's physical stores.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/outletfn"
)

func main() { app.Main(outletfn.Stores) }
