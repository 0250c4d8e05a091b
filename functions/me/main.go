// Command me serves GET /me: the signed-in user's record.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/accountfn"
)

func main() { app.Main(accountfn.Me) }
