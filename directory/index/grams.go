package index

// Substring grams. A value v (already in its substring normal form) is
// indexed under every 3-byte window of 0x01 v 0x02, plus the 2-byte grams
// 0x01 v[0] and v[last] 0x02 so that one-character initial and final
// pieces are indexable too. Windows are over bytes, not runes: value and
// assertion are normalised the same way, so their bytes line up, and the
// filter is always re-checked on the candidates.

const (
	gramStart = 0x01
	gramEnd   = 0x02
)

// ValueGrams returns the distinct grams of a substring-normalised value.
func ValueGrams(v []byte) [][]byte {
	if len(v) == 0 {
		return nil
	}
	a := make([]byte, 0, len(v)+2)
	a = append(append(append(a, gramStart), v...), gramEnd)
	seen := make(map[string]struct{}, len(a))
	out := make([][]byte, 0, len(a))
	add := func(g []byte) {
		if _, dup := seen[string(g)]; !dup {
			seen[string(g)] = struct{}{}
			out = append(out, g)
		}
	}
	add(a[:2])
	add(a[len(a)-2:])
	for i := 0; i+3 <= len(a); i++ {
		add(a[i : i+3])
	}
	return out
}

// QueryGrams returns the grams every value matching a substrings assertion
// must have: from the initial piece anchored at the start, the any pieces,
// and the final piece anchored at the end. Pieces are in substring normal
// form; nil pieces are absent. An empty result means the index cannot
// narrow the assertion.
func QueryGrams(initial []byte, any [][]byte, final []byte) [][]byte {
	var out [][]byte
	windows := func(s []byte) {
		for i := 0; i+3 <= len(s); i++ {
			out = append(out, s[i:i+3])
		}
	}
	if len(initial) > 0 {
		s := append([]byte{gramStart}, initial...)
		if len(s) == 2 {
			out = append(out, s)
		}
		windows(s)
	}
	for _, p := range any {
		windows(p)
	}
	if len(final) > 0 {
		s := append(append([]byte(nil), final...), gramEnd)
		if len(s) == 2 {
			out = append(out, s)
		}
		windows(s)
	}
	return out
}
