package app

import "errors"

// Shipping is the section of Config of WeChat shipping uploads (the order
// functions use it; see docs/orders.md, "Shipping").
type Shipping struct {
	Mode string `envconfig:"MINIFN_SHIPPING_MODE" default:"virtual" desc:"how products that name no fulfillment ship: virtual, pickup or express; off: no shipping uploads"`
}

// validate checks the section. Its error is one line naming the variable.
func (c *Shipping) validate() error {
	switch c.Mode {
	case "": // set but empty (a deploy file passing an unset variable): the default
		c.Mode = "virtual"
	case "virtual", "pickup", "express", "off":
	default:
		return errors.New("MINIFN_SHIPPING_MODE must be virtual, pickup, express or off")
	}
	return nil
}
