// Command bookings serves store bookings: slots, bookings, cancel,
// check-in (the reminders go out from order-expire).
package main

import (
	"github.com/minifn/minifn/shared/app"
	"github.com/minifn/minifn/shared/functions/bookingfn"
)

func main() { app.Main(bookingfn.Bookings) }
