// Command bookings serves store bookings (slots, bookings, cancel,
// check-in) and, on its timer, sends the booking reminders.
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/bookingfn"
)

func main() { app.Main(bookingfn.Bookings) }
