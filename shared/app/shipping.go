package app

import (
	"fmt"

	"github.com/kelseyhightower/envconfig"
)

// Shipping is the configuration of WeChat shipping uploads (the order
// functions read it at start; see docs/orders.md, "Shipping").
type Shipping struct {
	Mode string `envconfig:"MINIFN_SHIPPING_MODE" default:"virtual" desc:"how products that name no fulfillment ship: virtual, pickup or express; off: no shipping uploads"`
}

// LoadShipping reads MINIFN_SHIPPING_MODE. Its error is one line naming the variable.
func LoadShipping() (Shipping, error) {
	var c Shipping
	if err := envconfig.Process("", &c); err != nil {
		return c, fmt.Errorf("shipping configuration: %w", err)
	}
	switch c.Mode {
	case "": // set but empty (a deploy file passing an unset variable): the default
		c.Mode = "virtual"
	case "virtual", "pickup", "express", "off":
	default:
		return c, fmt.Errorf("MINIFN_SHIPPING_MODE must be virtual, pickup, express or off")
	}
	return c, nil
}
