// Command points serves loyalty points: scans, balance, rewards, redemptions.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/engagefn"
)

func main() { app.Main(engagefn.Points) }
