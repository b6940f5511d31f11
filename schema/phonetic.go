package schema

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Approximate matching (RFC 4511 4.5.1.7.6 leaves the algorithm to the
// server). Switchboard compares names by sound, word by word, with a
// Soundex-style code (Russell and Odell's 1918 scheme as the US census
// used it):
//
//  1. the value is prepared as for caseIgnoreMatch (RFC 4518), then
//     decomposed, and combining marks are dropped (Müller -> muller); a few
//     letters that do not decompose are spelled out (ß ss, æ ae, ø o, ł l,
//     đ d, þ th);
//  2. it is split into words at anything that is not a letter or digit;
//  3. a word with Latin letters keeps its first letter, then the digit of
//     each following consonant group (b f p v = 1; c g j k q s x z = 2;
//     d t = 3; l = 4; m n = 5; r = 6), skipping vowels and h w y, merging
//     equal neighbours (also across h and w), and padding or cutting to
//     four characters: Maier, Meyer and Mayer are all M600, Smith and Smyth
//     S530. Words in other scripts are kept as prepared.
//
// The key is the words' codes joined by spaces: two values match
// approximately when their keys are equal, so "Jon Smyth" matches
// "John Smith" but not "Smith John".

var spelled = map[rune]string{'ß': "ss", 'æ': "ae", 'ø': "o", 'ł': "l", 'đ': "d", 'þ': "th", 'œ': "oe", 'ı': "i"}

var soundexDigit = [26]byte{
	// a  b    c    d    e  f    g    h  i  j    k    l    m    n    o  p    q    r    s    t    u  v    w  x    y  z
	0, '1', '2', '3', 0, '1', '2', 0, 0, '2', '2', '4', '5', '5', 0, '1', '2', '6', '2', '3', 0, '1', 0, '2', 0, '2',
}

func phoneticKey(prepared string) []byte {
	var folded strings.Builder
	for _, r := range norm.NFD.String(prepared) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if s, ok := spelled[r]; ok {
			folded.WriteString(s)
			continue
		}
		folded.WriteRune(r)
	}
	words := strings.FieldsFunc(folded.String(), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var out []byte
	for i, w := range words {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, soundex(w)...)
	}
	return out
}

// soundex codes one word; words that do not start with a Latin letter are
// returned unchanged.
func soundex(w string) string {
	if w == "" || w[0] < 'a' || w[0] > 'z' {
		return w
	}
	code := []byte{w[0] - 'a' + 'A'}
	last := soundexDigit[w[0]-'a']
	for i := 1; i < len(w) && len(code) < 4; i++ {
		c := w[i]
		if c < 'a' || c > 'z' {
			continue
		}
		d := soundexDigit[c-'a']
		switch {
		case c == 'h' || c == 'w':
			// h and w do not separate equal codes
		case d == 0:
			last = 0 // vowels do
		case d != last:
			code = append(code, d)
			last = d
		}
	}
	for len(code) < 4 {
		code = append(code, '0')
	}
	return string(code)
}
