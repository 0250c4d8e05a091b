// Package ident checks identifiers that arrive from clients and from WeChat
// (openids, SKUs, out_trade_no, template ids, scene keys) against their
// allowed characters and lengths.
//
// It replaces package-level regexps: those compile in every binary's init,
// and each function's cold start pays for all of them, used or not.
package ident

// Valid reports whether s is min to max bytes long and every byte is an ASCII
// letter, a digit, or one of extra.
func Valid(s string, min, max int, extra string) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && !in(c, extra) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func in(c byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}
