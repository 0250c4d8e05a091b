// Command login serves POST /login: a wx.login code in, a session token out.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/accountfn"
)

func main() { app.Main(accountfn.Login) }
