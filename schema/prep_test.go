package schema

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestFastPathMatchesGeneral checks the table-driven path against the
// general one on random strings mixing ASCII, the scripts of the tables,
// spaces, combining marks, Hangul jamo (which compose with syllables) and
// other code points.
func TestFastPathMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pick := func() rune {
		switch r.IntN(9) {
		case 0:
			return rune(r.IntN(0x80))
		case 1:
			return ' '
		case 2:
			return 0x300 + rune(r.IntN(0x70)) // combining marks
		case 3:
			return rune(r.IntN(0x3000))
		case 4:
			return 0x1100 + rune(r.IntN(0x100)) // Hangul jamo
		case 5:
			return 0xac00 + rune(r.IntN(0x2c00)) // Hangul syllables
		case 6:
			return 0x4e00 + rune(r.IntN(0x5200)) // CJK ideographs
		default:
			return 0x80 + rune(r.IntN(tableEnd-0x80))
		}
	}
	fast := 0
	for i := 0; i < 200000; i++ {
		rs := make([]rune, 1+r.IntN(8))
		for j := range rs {
			rs[j] = pick()
		}
		v := []byte(string(rs))
		for _, flags := range []prepFlags{0, foldCase} {
			for _, mode := range []spaceMode{spaceEquality, spaceInitial, spaceAny, spaceFinal} {
				got, ok := prepareFast(nil, v, flags, mode)
				if !ok {
					continue
				}
				fast++
				want, err := prepareUnicode(v, flags, mode)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%q (flags %d, mode %d): fast %q, general %q, %v", v, flags, mode, got, want, err)
				}
			}
		}
	}
	if fast < 100000 {
		t.Fatalf("the fast path took only %d cases", fast)
	}
	for _, tc := range []struct{ in, want string }{
		{"José MÜLLER", "josé müller"},
		{"Łukasz Żółć", "łukasz żółć"},
		{"Straße", "strasse"}, // ß folds to two letters: the general path
	} {
		got, err := prepareString([]byte(tc.in), foldCase, spaceEquality)
		if err != nil || string(got) != tc.want {
			t.Errorf("prepareString(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestFastPathRanges checks every code point the fast path passes through
// unchanged by range rather than by table.
func TestFastPathRanges(t *testing.T) {
	for r := rune(0x4e00); r <= 0xd7a3; r++ {
		if !identityRange(r) {
			continue
		}
		for _, fold := range []bool{false, true} {
			if got := preparedRune(r, fold); got != r {
				t.Fatalf("U+%04X (fold %v) prepares to U+%04X, not itself", r, fold, got)
			}
		}
	}
}
