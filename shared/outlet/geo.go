package outlet

import (
	"math"
)

// EarthRadius is the mean Earth radius in metres (IUGG), the sphere of
// every distance here.
const EarthRadius = 6371008.8

// Distance returns the great-circle distance in metres between two points
// (degrees), by the haversine formula, which stays accurate at short
// distances where the spherical law of cosines loses digits.
func Distance(lat1, lng1, lat2, lng2 float64) float64 {
	φ1, φ2 := rad(lat1), rad(lat2)
	dφ, dλ := rad(lat2-lat1), rad(lng2-lng1)
	a := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * EarthRadius * math.Asin(math.Sqrt(math.Min(1, a)))
}

func rad(d float64) float64 { return d * math.Pi / 180 }
func deg(r float64) float64 { return r * 180 / math.Pi }

// The nearby index files every store under its geohash cell at each of
// these precisions (characters of geohash). Sizes at the equator (a cell's
// width shrinks with cos(latitude)):
//
//	3: 156 km × 156 km   4: 39.1 km × 19.5 km   5: 4.89 km × 4.89 km   6: 1.22 km × 0.61 km
//
// A query uses the finest level whose cells covering its circle number at
// most MaxCells, so it reads a few cells a little larger than the circle
// whatever its radius (50 m or 50 km), and never the whole index.
var Levels = []int{3, 4, 5, 6}

// MaxCells bounds the cells one query reads at the level it picks (the
// coarsest level is used whatever its count; at MaxRadius it stays under
// this up to latitude 80°).
const MaxCells = 32

// geohash's alphabet: base 32 without a, i, l, o.
const base32 = "0123456789bcdefghjkmnpqrstuvwxyz"

// grid is one precision's grid of cells: 2^latBits rows and 2^lngBits
// columns, interleaved longitude first as geohash does.
type grid struct {
	prec             int
	latBits, lngBits uint
}

func gridOf(prec int) grid {
	b := uint(5 * prec)
	return grid{prec: prec, latBits: b / 2, lngBits: (b + 1) / 2}
}

func (g grid) rows() int64      { return 1 << g.latBits }
func (g grid) cols() int64      { return 1 << g.lngBits }
func (g grid) cellLat() float64 { return 180 / float64(g.rows()) }
func (g grid) cellLng() float64 { return 360 / float64(g.cols()) }
func (g grid) row(lat float64) int64 {
	return clamp(int64(math.Floor((lat+90)/g.cellLat())), 0, g.rows()-1)
}
func (g grid) col(lng float64) int64 { return int64(math.Floor((lng + 180) / g.cellLng())) } // unwrapped

func clamp(v, lo, hi int64) int64 { return max(lo, min(hi, v)) }

// hash returns the geohash of the cell at row r, column c (wrapped).
func (g grid) hash(r, c int64) string {
	c = ((c % g.cols()) + g.cols()) % g.cols()
	out := make([]byte, g.prec)
	lb, ab := int(g.lngBits), int(g.latBits)
	for i := range g.prec {
		v := 0
		for k := range 5 {
			bit := 5*i + k
			var b int64
			if bit%2 == 0 { // even bits are longitude
				lb--
				b = (c >> uint(lb)) & 1
			} else {
				ab--
				b = (r >> uint(ab)) & 1
			}
			v = v<<1 | int(b)
		}
		out[i] = base32[v]
	}
	return string(out)
}

// Geohash returns the geohash of (lat, lng) at prec characters.
func Geohash(lat, lng float64, prec int) string {
	g := gridOf(prec)
	return g.hash(g.row(lat), clamp(g.col(lng), 0, g.cols()-1))
}

// cover is the block of cells that holds every point within radius of the
// centre: rows r0..r1, columns c0..c1 (unwrapped: they may run past the
// antimeridian and wrap).
type cover struct {
	g              grid
	r0, r1, c0, c1 int64
}

func (cv cover) count() int64 { return (cv.r1 - cv.r0 + 1) * (cv.c1 - cv.c0 + 1) }

// cells returns the cells' geohashes.
func (cv cover) cells() []string {
	out := make([]string, 0, cv.count())
	for r := cv.r0; r <= cv.r1; r++ {
		for c := cv.c0; c <= cv.c1; c++ {
			out = append(out, cv.g.hash(r, c))
		}
	}
	return out
}

// coverOf returns the cells of g that a circle of radius metres around
// (lat, lng) touches: the cells of its bounding box in latitude and
// longitude. The box is exact for a spherical cap (the widest longitude is
// asin(sin δ / cos φ), reached north of the centre's parallel, not on it),
// widened by a metre against rounding; a cap over a pole takes every
// longitude.
func coverOf(g grid, lat, lng, radius float64) cover {
	δ := (radius + 1) / EarthRadius
	latMin, latMax := lat-deg(δ), lat+deg(δ)
	cv := cover{g: g, r0: g.row(latMin), r1: g.row(latMax)}
	if latMin <= -90 || latMax >= 90 || math.Sin(δ) >= math.Cos(rad(lat)) {
		cv.c0, cv.c1 = 0, g.cols()-1
		return cv
	}
	dLng := deg(math.Asin(math.Sin(δ) / math.Cos(rad(lat))))
	cv.c0, cv.c1 = g.col(lng-dLng), g.col(lng+dLng)
	if cv.c1-cv.c0+1 >= g.cols() {
		cv.c0, cv.c1 = 0, g.cols()-1
	}
	return cv
}

// pickCover returns the cover of the finest level with at most MaxCells
// cells, or the coarsest level's.
func pickCover(lat, lng, radius float64) cover {
	var cv cover
	for i := len(Levels) - 1; i >= 0; i-- {
		cv = coverOf(gridOf(Levels[i]), lat, lng, radius)
		if cv.count() <= MaxCells {
			return cv
		}
	}
	return cv
}
