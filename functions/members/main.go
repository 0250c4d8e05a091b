// Command members serves membership tiers: the caller's tier and growth,
// the merchant's tiers (docs/members.md).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/memberfn"
)

func main() { app.Main(memberfn.Members) }
