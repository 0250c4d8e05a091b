// Package outlet implements a merchant's physical stores ("outlets", so
// that nobody confuses them with shared/store, the storage contract): their
// name, address, location, opening hours and status, the nearby query that
// lists the stores around a point with their distance, and the staff role,
// which belongs to a store.
//
// # Locations are GCJ-02
//
// Lat and Lng are GCJ-02 coordinates ("Mars coordinates", China's official
// offset of WGS-84), which is what wx.getLocation returns when it is asked
// with type:'gcj02' (its default, 'wgs84', gives raw GPS coordinates, which
// WeChat's own wx.openLocation and map component do not take). A Mini-Program
// therefore calls wx.getLocation({type:'gcj02'}) and sends latitude and
// longitude as they come; the merchant enters store locations picked on a
// GCJ-02 map (Tencent Maps, or wx.chooseLocation, which also answers GCJ-02).
// Distances are great-circle distances on a sphere (haversine, R = 6,371,008.8
// m): GCJ-02's offset from WGS-84 is a few hundred metres that varies slowly
// over kilometres, so between two GCJ-02 points at store distances (up to
// MaxRadius) it changes a distance by far less than a metre; the sphere's
// own error against the ellipsoid is under 0.5 %.
//
// # Opening hours and status
//
// Status is the merchant's switch: "open" (trading) or "closed" (shut for
// now or for good; the record stays so that orders and redemptions that
// name it keep their meaning). Hours is the weekly timetable in China
// Standard Time (UTC+8, no daylight saving time; GCJ-02 only exists in
// China): per weekday, up to four ranges "HH:MM"–"HH:MM", close may be
// "24:00"; a range past midnight is written as two (Fri 18:00–24:00, Sat
// 00:00–02:00). A day that is absent has no opening; a store without
// hours at all is open whenever its status is. CheckOpen refuses a store
// that is closed by status or by the clock.
//
// # Staff
//
// The staff role (granted by the admin) is owned here: a staff record names
// the store the member works at, or none ("" — the member may redeem coupons
// anywhere, as before stores existed, but may do no store-bound action).
// The key is the one package coupon used before, so existing grants still
// read (as staff of no one store).
//
// # Key layout
//
//	outlet#all          / <storeID>   the store (JSON); listed by Query (the console's pages)
//	outlet#geo#<cell>   / <storeID>   nearby index: the store (JSON) under a geohash cell, one per level
//	staff#all           / <openid>    the staff role (JSON: openid, granted_at, store_id); listed by Query
//
// The index items hold a copy of the store, written in the same Write as the
// store record (and moved in that Write when the store moves), so a nearby
// query reads only index items, and only those of the cells around the
// point: see nearby.go.
package outlet
