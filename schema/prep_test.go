package schema

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestLatinFastPathMatchesGeneral checks the table-driven path against the
// general one on random strings mixing ASCII, Latin code points, spaces,
// combining marks and other scripts.
func TestLatinFastPathMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pick := func() rune {
		switch r.IntN(6) {
		case 0:
			return rune(r.IntN(0x80))
		case 1:
			return ' '
		case 2:
			return 0x300 + rune(r.IntN(0x70)) // combining marks
		case 3:
			return rune(r.IntN(0x3000))
		default:
			return 0x80 + rune(r.IntN(latinEnd-0x80))
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
				got, ok := prepareLatin(v, flags, mode)
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
