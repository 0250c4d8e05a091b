package app

import "errors"

// Wallet is the stored-value section of Config (docs/wallet.md). Stored
// value in China needs the merchant's single-purpose prepaid card filing
// (单用途商业预付卡 备案), so the feature is off until the merchant turns it
// on: off, every route of the wallet function answers 404 wallet_disabled.
type Wallet struct {
	Mode string `envconfig:"MINIFN_WALLET" default:"off" desc:"on: the wallet (stored value, top-ups) is open; off: its routes answer 404 wallet_disabled (docs/wallet.md: the filing it needs)"`
}

// On reports whether the wallet is turned on.
func (c Wallet) On() bool { return c.Mode == "on" }

// validate checks the section. Its error is one line naming the variable.
func (c *Wallet) validate() error {
	switch c.Mode {
	case "": // set but empty (a deploy file passing an unset variable): the default
		c.Mode = "off"
	case "on", "off":
	default:
		return errors.New("MINIFN_WALLET must be on or off")
	}
	return nil
}
