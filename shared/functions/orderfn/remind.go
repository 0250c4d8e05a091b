package orderfn

import (
	"fmt"

	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/booking"
)

// bookingReminders is the bookings' side of order-expire: the subscribe
// message before a booked slot (booking.Remind), sent when
// MINIFN_SUBSCRIBE_BOOKING_TEMPLATE is set and WeChat is configured. It
// runs here because order-expire is the shop's minute timer; the bookings
// function serves HTTP only (on SCF a web function takes no timer).
func bookingReminders(a *app.App) (*booking.Service, error) {
	c := a.Config.Booking
	o := booking.Options{Now: a.Now, RemindBefore: c.BookingRemindBefore}
	if c.SubscribeBookingTemplate != "" && a.WeChat != nil {
		sub, err := a.Subscribe()
		if err != nil {
			return nil, err
		}
		var f booking.Fields
		if c.SubscribeBookingFields != "" {
			if f, err = booking.ParseFields(c.SubscribeBookingFields); err != nil {
				return nil, fmt.Errorf("MINIFN_SUBSCRIBE_BOOKING_FIELDS: %w", err)
			}
		}
		o.Reminder = booking.SubscribeReminder(sub, c.SubscribeBookingTemplate, c.SubscribeBookingPage, f)
	}
	return booking.New(a.Store, o), nil
}
