package schema

import (
	"errors"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// This file implements the string preparation of RFC 4518 section 2 used
// by the case-ignore, case-exact, numeric-string and telephone-number
// matching rules.

var (
	errNotUTF8     = errors.New("value is not valid UTF-8")
	errProhibited  = errors.New("value contains a prohibited character")
	caseFolder     = cases.Fold()
	errEmptyString = errors.New("empty value")
)

// prepFlags select the steps of preparation that differ between rules.
type prepFlags uint8

const (
	foldCase prepFlags = 1 << iota
)

// spaceMode selects the insignificant space handling (RFC 4518 section 2.6).
type spaceMode uint8

const (
	spaceEquality spaceMode = iota // trim, collapse runs to one space
	spaceInitial                   // substring initial: trim leading, collapse
	spaceAny                       // substring any: collapse only
	spaceFinal                     // substring final: trim trailing, collapse
)

// prepareString applies RFC 4518 preparation and insignificant space
// handling. The result may alias v when v is already in normal form.
func prepareString(v []byte, flags prepFlags, mode spaceMode) ([]byte, error) {
	for _, c := range v {
		if c >= utf8.RuneSelf {
			if out, ok := prepareFast(nil, v, flags, mode); ok {
				return out, nil
			}
			return prepareUnicode(v, flags, mode)
		}
	}
	return prepareASCII(v, flags, mode), nil
}

// appendPrepared is prepareString with a new normal form appended to dst
// rather than to a new slice (but for the values only the general path
// prepares): a caller that compares the result and drops it, as filter
// evaluation does for every value it tests, can reuse one buffer. The
// result may alias v.
func appendPrepared(dst, v []byte, flags prepFlags, mode spaceMode) ([]byte, error) {
	if dst == nil {
		dst = []byte{} // not nil: nil asks for a new slice of the right size
	}
	for _, c := range v {
		if c >= utf8.RuneSelf {
			if out, ok := prepareFast(dst, v, flags, mode); ok {
				return out, nil
			}
			return prepareUnicode(v, flags, mode)
		}
	}
	return appendASCII(dst, v, flags, mode), nil
}

// The fast path prepares a value rune by rune from tables, when every rune
// of it has an entry: the one code point that preparation (mapping, case
// folding for the fold table, NFKC) turns it into, which nothing before it
// can combine with under NFKC (norm.Properties.BoundaryBefore). Then no
// two runes interact, and preparing rune by rune equals preparing the
// whole value. The tables cover U+0080 to tableEnd (Latin, Greek,
// Cyrillic, Armenian, Hebrew, Arabic, the Indic scripts...); CJK unified
// ideographs and Hangul syllables, which preparation leaves as they are,
// are ranges (TestFastPathRanges checks every code point of them). Other
// code points, and runes that map to nothing or to several code points
// (U+00DF folds to "ss"), take the general path.
const tableEnd = 0x2000

var (
	tableOnce             sync.Once
	foldTable, exactTable *[tableEnd - utf8.RuneSelf]rune
)

// fastTables returns the tables, computing them once (a few milliseconds)
// on the first non-ASCII value, not when the program starts.
func fastTables() (fold, exact *[tableEnd - utf8.RuneSelf]rune) {
	tableOnce.Do(func() {
		foldTable, exactTable = new([tableEnd - utf8.RuneSelf]rune), new([tableEnd - utf8.RuneSelf]rune)
		for r := rune(utf8.RuneSelf); r < tableEnd; r++ {
			foldTable[r-utf8.RuneSelf] = preparedRune(r, true)
			exactTable[r-utf8.RuneSelf] = preparedRune(r, false)
		}
	})
	return foldTable, exactTable
}

// identityRange reports whether r is in a range that preparation leaves
// unchanged rune by rune: CJK unified ideographs, Hangul syllables.
func identityRange(r rune) bool {
	return 0x4e00 <= r && r <= 0x9fff || 0xac00 <= r && r <= 0xd7a3
}

// preparedRune is the single code point r prepares to, or 0.
func preparedRune(r rune, fold bool) rune {
	if mapRune(r) != r || prohibited(r) {
		return 0
	}
	prep := func(s string) string {
		if fold {
			s = caseFolder.String(s)
		}
		return norm.NFKC.String(s)
	}
	s := prep(string(r))
	out, size := utf8.DecodeRuneInString(s)
	if size != len(s) || out == utf8.RuneError || mapRune(out) != out || prep(s) != s ||
		!norm.NFKC.PropertiesString(s).BoundaryBefore() {
		return 0
	}
	return out
}

// prepareFast prepares a value through the tables, appending it to dst
// (nil: to a new slice, one allocation in all); ok is false for a value
// they do not cover.
func prepareFast(dst, v []byte, flags prepFlags, mode spaceMode) (out []byte, ok bool) {
	fold, exact := fastTables()
	table := exact
	if flags&foldCase != 0 {
		table = fold
	}
	out = dst
	if out == nil {
		out = make([]byte, 0, len(v)+4)
	}
	start := len(out)
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			i++
			m := asciiMap[c]
			if m == 0 {
				continue
			}
			if flags&foldCase != 0 && m >= 'A' && m <= 'Z' {
				m += 'a' - 'A'
			}
			out = append(out, m)
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		var p rune
		switch {
		case r < tableEnd:
			p = table[r-utf8.RuneSelf]
		case identityRange(r):
			p = r
		}
		if p == 0 { // utf8.RuneError too: the general path reports it
			return nil, false
		}
		out = utf8.AppendRune(out, p)
		i += size
	}
	return squeezeSpaces(out[start:], mode), true
}

// asciiMap gives the mapping of RFC 4518 section 2.2 for ASCII: 0 removes
// the byte, otherwise the byte it maps to (without case folding).
var asciiMap = func() (t [128]byte) {
	for c := 0; c < 128; c++ {
		switch {
		case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			t[c] = ' '
		case c < 0x20 || c == 0x7f:
			t[c] = 0
		default:
			t[c] = byte(c)
		}
	}
	return t
}()

// asciiNormal reports whether an ASCII value is already in normal form, so
// the fast path can return it without allocating.
func asciiNormal(v []byte, flags prepFlags, mode spaceMode) bool {
	prevSpace := mode == spaceEquality || mode == spaceInitial // leading space not allowed
	for _, c := range v {
		if asciiMap[c] != c {
			return false
		}
		if flags&foldCase != 0 && c >= 'A' && c <= 'Z' {
			return false
		}
		if c == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	if prevSpace && len(v) > 0 && (mode == spaceEquality || mode == spaceFinal) {
		return false
	}
	return len(v) > 0 || mode != spaceEquality
}

func prepareASCII(v []byte, flags prepFlags, mode spaceMode) []byte {
	return appendASCII(nil, v, flags, mode)
}

// appendASCII is prepareASCII appending a new normal form to dst (nil: to
// a new slice); the result aliases v when v is in normal form already.
func appendASCII(dst, v []byte, flags prepFlags, mode spaceMode) []byte {
	if asciiNormal(v, flags, mode) {
		return v
	}
	out := dst
	if out == nil {
		out = make([]byte, 0, len(v))
	}
	start := len(out)
	for _, c := range v {
		m := asciiMap[c]
		if m == 0 {
			continue
		}
		if flags&foldCase != 0 && m >= 'A' && m <= 'Z' {
			m += 'a' - 'A'
		}
		out = append(out, m)
	}
	return squeezeSpaces(out[start:], mode)
}

// squeezeSpaces applies insignificant space handling in place.
func squeezeSpaces(b []byte, mode spaceMode) []byte {
	out := b[:0]
	allSpace := true
	for _, c := range b {
		if c == ' ' {
			if len(out) == 0 && (mode == spaceEquality || mode == spaceInitial) {
				continue
			}
			if len(out) > 0 && out[len(out)-1] == ' ' {
				continue
			}
		} else {
			allSpace = false
		}
		out = append(out, c)
	}
	if (mode == spaceEquality || mode == spaceFinal) && len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	if mode == spaceEquality && len(out) == 0 && len(b) > 0 && allSpace {
		// A value made only of spaces is distinct from no value: its normal
		// form is a single space.
		return append(out, ' ')
	}
	return out
}

// mapRune implements RFC 4518 section 2.2 for one code point: it returns
// -1 to map to nothing.
func mapRune(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == 0x85:
		return ' '
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return -1
	case r == 0xad || r == 0x034f || r == 0x1806 || (r >= 0x180b && r <= 0x180e) ||
		(r >= 0xfe00 && r <= 0xfe0f) || r == 0xfffc || r == 0x200b:
		return -1
	case r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff:
		// Zero width joiners and word joiners: format characters that
		// RFC 4518 maps to nothing.
		return -1
	case unicode.Is(unicode.Cf, r):
		return -1
	case unicode.Is(unicode.Zs, r) || r == 0x2028 || r == 0x2029:
		return ' '
	}
	return r
}

// prohibited reports RFC 4518 section 2.4 prohibited code points that we
// enforce: the replacement character and non-characters. Unassigned and
// private-use code points are accepted (see doc.go).
func prohibited(r rune) bool {
	return r == 0xfffd || (r >= 0xfdd0 && r <= 0xfdef) || r&0xfffe == 0xfffe
}

func prepareUnicode(v []byte, flags prepFlags, mode spaceMode) ([]byte, error) {
	if !utf8.Valid(v) {
		return nil, errNotUTF8
	}
	s := string(v)
	// Map, case fold and normalise until stable: folding and NFKC do not
	// commute for every code point, and the normal form must be idempotent.
	for i := 0; i < 4; i++ {
		m := mapString(s)
		if flags&foldCase != 0 {
			m = caseFolder.String(m)
		}
		m = norm.NFKC.String(m)
		if m == s {
			break
		}
		s = m
	}
	for _, r := range s {
		if prohibited(r) {
			return nil, errProhibited
		}
	}
	return squeezeSpaces([]byte(s), mode), nil
}

func mapString(s string) string {
	changed := false
	for _, r := range s {
		if mapRune(r) != r {
			changed = true
			break
		}
	}
	if !changed {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if m := mapRune(r); m >= 0 {
			out = append(out, m)
		}
	}
	return string(out)
}
