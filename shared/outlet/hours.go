package outlet

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/minifn/minifn/shared/apperr"
)

// Hours is a store's weekly timetable in China Standard Time: per weekday
// ("mon" … "sun"), the ranges it is open. A day that is absent is a day off.
// Nil or empty Hours mean no timetable: open whenever the status is.
//
//	{"mon":[{"open":"09:00","close":"21:00"}],"sat":[{"open":"10:00","close":"24:00"}]}
type Hours map[string][]Range

// Range is one opening on a day, from Open up to (not including) Close,
// both "HH:MM"; Close may be "24:00".
type Range struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// MaxRanges is the most ranges a day may have.
const MaxRanges = 4

// Days are the keys of Hours, Sunday first like time.Weekday.
var Days = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Validate checks the days' names and each day's ranges: well formed,
// open before close, sorted and not overlapping, at most MaxRanges.
func (h Hours) Validate() error {
	for day, ranges := range h {
		if dayIndex(day) < 0 {
			return apperr.Invalidf("hours: %q is not a day (mon, tue, wed, thu, fri, sat, sun)", day)
		}
		if len(ranges) > MaxRanges {
			return apperr.Invalidf("hours.%s: at most %d ranges", day, MaxRanges)
		}
		prev := -1
		for i, r := range ranges {
			o, ok1 := minute(r.Open, false)
			c, ok2 := minute(r.Close, true)
			if !ok1 || !ok2 {
				return apperr.Invalidf("hours.%s[%d]: open and close must be HH:MM (close up to 24:00)", day, i)
			}
			if o >= c {
				return apperr.Invalidf("hours.%s[%d]: open must be before close (write a range past midnight as two, on both days)", day, i)
			}
			if o < prev {
				return apperr.Invalidf("hours.%s[%d]: ranges must be in order and not overlap", day, i)
			}
			prev = c
		}
	}
	return nil
}

// OpenAt reports whether t (in any zone) falls within the hours, read in
// China Standard Time. No hours: always.
func (h Hours) OpenAt(t time.Time) bool {
	if len(h) == 0 {
		return true
	}
	t = t.In(CST)
	m := t.Hour()*60 + t.Minute()
	for _, r := range h[Days[t.Weekday()]] {
		o, _ := minute(r.Open, false)
		c, _ := minute(r.Close, true)
		if m >= o && m < c {
			return true
		}
	}
	return false
}

// MarshalJSON writes the days in week order (Monday first), so that
// answers and stored records are stable.
func (h Hours) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	days := make([]string, 0, len(h))
	for d := range h {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return (dayIndex(days[i])+6)%7 < (dayIndex(days[j])+6)%7 })
	b := []byte{'{'}
	for i, d := range days {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(d)
		v, err := json.Marshal(h[d])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

func dayIndex(d string) int {
	for i, n := range Days {
		if n == d {
			return i
		}
	}
	return -1
}

// minute parses "HH:MM" to minutes since midnight; "24:00" only when
// close is true.
func minute(s string, close bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if close && h == 24 && m == 0 {
		return 24 * 60, true
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}
