// Package booking implements table and service bookings at a physical
// store: the merchant defines slots per store and day, each with a
// capacity in seats; a booking takes party_size seats of one slot, like an
// order takes stock; a cancel gives them back; store staff check the party
// in; and a reminder goes out before the slot to users who allowed it.
//
// Slot times are the store's local time, China Standard Time (UTC+8, no
// daylight saving): a slot "2026-12-06T18:00" starts at 18:00 in Beijing.
// A slot is named by its day and start, "YYYY-MM-DDTHH:MM", which is also
// how POST /bookings names it.
//
// # Seats
//
// A slot's definition (start, end, capacity) and its seats taken are two
// items. A booking adds party_size to the seats counter with an upper bound
// of the capacity it read, in one Write that also checks the definition's
// version: so a rush of bookings never takes more than the capacity (the
// bound is checked by the store, on every backend, atomically), and a
// capacity change made meanwhile (which bumps the version) sends the
// booking round again with the new capacity. A capacity change checks the
// seats counter against the new capacity in the same Write as the new
// definition: it never drops below the seats taken. A cancel moves the
// booking from booked to cancelled under its version, in the same Write as
// the seats it gives back: two concurrent cancels give them back once.
//
// # Keys
//
//	booking#slot#<store>         / <day>T<start>      a slot's definition (JSON SlotDef)
//	booking#taken#<store>        / <day>T<start>      N: the slot's seats taken
//	booking#id#<id>              / b                  a booking (JSON Booking): the authority
//	booking#u#<openid>           / <id>               copy of the booking, in its user's list
//	booking#d#<store>#<day>      / <start>#<id>       copy of the booking, in the store's day
//	booking#hold#<store>#<slot>  / <openid>           the user's live booking of the slot: one per
//	                                                  user and slot; a cancel removes it
//	booking#remind               / <start unix>#<id>  a booked booking, until its reminder is handled
//	                                                  or its slot starts (its expiry)
//
// Every change of a booking writes its three copies in one Write, under the
// authority's version. Slot keys carry the day and start in the store's
// local time; reminders sort by the slot's start in UTC seconds.
//
// # Caveats
//
//   - A slot's seats counter is one item: on DynamoDB about 1,000 bookings a
//     second per slot, far above what a store's day sees.
//   - The reminder job (Remind) sends at most once per booking (the
//     subscribe package marks it) and skips bookings no longer booked. It
//     runs on the shop's minute timer, function order-expire: the bookings
//     function is an SCF web function, which takes no timer trigger.
package booking
