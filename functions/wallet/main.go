// Command wallet serves the stored-value wallet: balance and ledger,
// top-up plans, top-ups paid by WeChat Pay and their refunds (docs/wallet.md).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/walletfn"
)

func main() { app.Main(walletfn.Wallet) }
