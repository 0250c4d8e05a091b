// Command login serves POST /login: a wx.login code in, a session token out.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/catalog/accounts"
)

func main() { app.Main(accounts.Login) }
