// Command wx-push serves GET and POST /wx/push: WeChat's message push.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/wxpushfn"
)

func main() { app.Main(wxpushfn.WxPush) }
