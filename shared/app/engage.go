package app

import (
	"fmt"

	"github.com/minifn/minifn/shared/subscribe"
)

// Engage is the engagement features' section of Config (docs/engagement.md):
// points, share codes and the order-paid subscribe message. The functions
// of several features use it (me, qrcode, points, wx-push, and the order
// functions' paid hook).
type Engage struct {
	PointsPerYuan         int64  `envconfig:"MINIFN_POINTS_PER_YUAN" default:"1" desc:"points a paid order earns per yuan; 0: none"`
	QrcodeUserLimit       int    `envconfig:"MINIFN_QRCODE_USER_LIMIT" default:"30" desc:"new share codes a user may make per hour"`
	SubscribePaidTemplate string `envconfig:"MINIFN_SUBSCRIBE_PAID_TEMPLATE" desc:"template id of the order-paid subscribe message; unset: none"`
	SubscribePaidFields   string `envconfig:"MINIFN_SUBSCRIBE_PAID_FIELDS" desc:"template key=order field pairs: order_id, title, total, paid_at"`
	SubscribePaidPage     string `envconfig:"MINIFN_SUBSCRIBE_PAID_PAGE" default:"pages/order/detail?id={order_id}" desc:"page the message opens; empty: the default"`
	SubscribeState        string `envconfig:"MINIFN_SUBSCRIBE_STATE" default:"formal" desc:"miniprogram_state: developer, trial or formal"`
}

// DefaultSubscribePaidPage is MINIFN_SUBSCRIBE_PAID_PAGE's default.
const DefaultSubscribePaidPage = "pages/order/detail?id={order_id}"

// validate checks the section and fills in the defaults of empty values.
// Its error is one line naming the variable.
func (c *Engage) validate() error {
	// Set but empty, as the deploy files pass a variable the merchant left
	// out of .env or a template parameter left empty: the default, as unset.
	if c.SubscribePaidPage == "" {
		c.SubscribePaidPage = DefaultSubscribePaidPage
	}
	if c.SubscribeState == "" {
		c.SubscribeState = "formal"
	}
	if c.PointsPerYuan < 0 || c.PointsPerYuan > 10_000 {
		return fmt.Errorf("MINIFN_POINTS_PER_YUAN must be 0 to 10000")
	}
	return nil
}

// Subscribe builds the subscribe-message service of the Engage section: me
// takes the users' credits, and the order functions send the paid message.
func (a *App) Subscribe() (*subscribe.Service, error) {
	c := a.Config.Engage
	o := subscribe.Options{Now: a.Now, PaidTemplate: c.SubscribePaidTemplate,
		PaidPage: c.SubscribePaidPage, State: c.SubscribeState}
	if t := a.Config.Booking.SubscribeBookingTemplate; t != "" {
		o.Templates = []string{t} // the booking reminder (function bookings) spends these credits
	}
	if c.SubscribePaidFields != "" {
		f, err := subscribe.ParseFields(c.SubscribePaidFields)
		if err != nil {
			return nil, fmt.Errorf("MINIFN_SUBSCRIBE_PAID_FIELDS: %w", err)
		}
		o.PaidFields = f
	}
	if a.WeChat != nil {
		o.WeChat = a.WeChat
	}
	return subscribe.New(a.Store, o), nil
}
