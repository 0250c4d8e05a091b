// Command me serves GET /me: the signed-in user's record.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/accounts"
)

func main() { app.Main(accounts.Me) }
