package app

import (
	"errors"
	"time"
)

// Booking is the bookings' section of Config: the subscribe-message
// reminder sent before a booked slot (function bookings, its timer). The
// template also banks credits in the functions that take the users'
// subscribe reports (me, wx-push: App.Subscribe).
type Booking struct {
	SubscribeBookingTemplate string        `envconfig:"MINIFN_SUBSCRIBE_BOOKING_TEMPLATE" desc:"template id of the booking reminder subscribe message; unset: no reminders"`
	SubscribeBookingFields   string        `envconfig:"MINIFN_SUBSCRIBE_BOOKING_FIELDS" desc:"template key=booking field pairs: booking_id, store_id, slot, party_size"`
	SubscribeBookingPage     string        `envconfig:"MINIFN_SUBSCRIBE_BOOKING_PAGE" default:"pages/booking/detail?id={booking_id}" desc:"page the reminder opens; empty: the default"`
	BookingRemindBefore      time.Duration `envconfig:"MINIFN_BOOKING_REMIND_BEFORE" default:"2h" desc:"the reminder goes out this long before the slot starts"`
}

// DefaultSubscribeBookingPage is MINIFN_SUBSCRIBE_BOOKING_PAGE's default.
const DefaultSubscribeBookingPage = "pages/booking/detail?id={booking_id}"

// DefaultBookingRemindBefore is MINIFN_BOOKING_REMIND_BEFORE's default.
const DefaultBookingRemindBefore = 2 * time.Hour

// validate checks the section and fills in the defaults of empty values.
// Its error is one line naming the variable.
func (c *Booking) validate() error {
	if c.SubscribeBookingPage == "" {
		c.SubscribeBookingPage = DefaultSubscribeBookingPage
	}
	if c.BookingRemindBefore == 0 {
		c.BookingRemindBefore = DefaultBookingRemindBefore
	}
	if c.BookingRemindBefore < 5*time.Minute || c.BookingRemindBefore > 48*time.Hour {
		// The timer runs every minute: a lead under a few minutes would
		// remind after the user left; over two days, before they remember.
		return errors.New("MINIFN_BOOKING_REMIND_BEFORE must be between 5m and 48h")
	}
	return nil
}
