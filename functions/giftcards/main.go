// Command giftcards serves gift cards: bought by WeChat Pay, sent by a
// one-time token, claimed into a wallet, taken back (docs/wallet.md).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/giftcardfn"
)

func main() { app.Main(giftcardfn.GiftCards) }
