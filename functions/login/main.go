// Command login serves POST /login: a wx.login code in, a session token out.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Login) }
