// Command admin serves the merchant console at /admin/.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/adminfn"
)

func main() { app.Main(adminfn.Admin) }
