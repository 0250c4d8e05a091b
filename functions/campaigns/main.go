// Command campaigns serves GET/POST /campaigns and the admin's pause, resume and end.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/couponfn"
)

func main() { app.Main(couponfn.Campaigns) }
