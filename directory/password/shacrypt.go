package password

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt ($5$ and $6$) as specified in Ulrich Drepper's "Unix crypt
// using SHA-256 and SHA-512" (2007-2008, https://www.akkadia.org/drepper/SHA-crypt.txt),
// written from the specification. The stored form is
//
//	$5$[rounds=N$]salt$hash   (SHA-256, 43 hash characters)
//	$6$[rounds=N$]salt$hash   (SHA-512, 86 hash characters)
//
// with at most 16 salt characters, rounds clamped to [1000, 999999999]
// (default 5000) and the hash in the crypt base-64 alphabet below.

const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	shaCryptMaxSalt       = 16
)

// cryptAlphabet is the base-64 alphabet of crypt(3).
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Byte orders of the final encoding (specification, step 22): each triple
// is encoded as one 24-bit group, least significant six bits first.
var (
	sha256CryptOrder = [...][3]int{
		{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	}
	sha512CryptOrder = [...][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
		{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
		{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
		{62, 20, 41},
	}
)

// shaCryptSetting is a parsed $5$/$6$ value.
type shaCryptSetting struct {
	sha512       bool
	rounds       int
	roundsCustom bool // "rounds=" was given, so it is repeated in the output
	salt         string
	hash         string // encoded hash, empty in a bare setting
}

// parseSHACrypt parses s ("$5$..." or "$6$..."). maxRounds > 0 refuses
// values asking for more rounds with ErrCostTooHigh, before any work.
func parseSHACrypt(s string, maxRounds int) (shaCryptSetting, error) {
	var st shaCryptSetting
	switch {
	case strings.HasPrefix(s, "$5$"):
	case strings.HasPrefix(s, "$6$"):
		st.sha512 = true
	default:
		return st, fmt.Errorf("%w: not a $5$ or $6$ crypt value", ErrMalformed)
	}
	rest := s[3:]
	st.rounds = shaCryptDefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		end := strings.IndexByte(r, '$')
		if end <= 0 || !allDigits(r[:end]) {
			return st, fmt.Errorf("%w: bad rounds= in crypt value", ErrMalformed)
		}
		n, err := strconv.ParseUint(r[:end], 10, 64)
		if err != nil || (maxRounds > 0 && n > uint64(maxRounds)) {
			return st, fmt.Errorf("%w: SHA-crypt rounds=%s exceeds the cap of %d", ErrCostTooHigh, r[:end], maxRounds)
		}
		st.rounds = int(min(max(n, shaCryptMinRounds), shaCryptMaxRounds))
		st.roundsCustom = true
		rest = r[end+1:]
	}
	salt, hashPart, hasHash := strings.Cut(rest, "$")
	if len(salt) > shaCryptMaxSalt {
		salt = salt[:shaCryptMaxSalt] // the specification truncates; so does a stored value
	}
	st.salt = salt
	if hasHash {
		want := 43
		if st.sha512 {
			want = 86
		}
		if len(hashPart) != want || strings.Trim(hashPart, cryptAlphabet) != "" {
			return st, fmt.Errorf("%w: crypt hash has the wrong length or alphabet", ErrMalformed)
		}
		st.hash = hashPart
	}
	return st, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// shaCrypt computes the full crypt string of key under the setting.
func shaCrypt(st shaCryptSetting, key []byte) string {
	newHash := sha256.New
	if st.sha512 {
		newHash = sha512.New
	}
	salt := []byte(st.salt)
	size := newHash().Size()

	// Steps 4-8: digest B = H(key salt key).
	hb := newHash()
	hb.Write(key)
	hb.Write(salt)
	hb.Write(key)
	b := hb.Sum(nil)

	// Steps 1-3 and 9-12: digest A.
	ha := newHash()
	ha.Write(key)
	ha.Write(salt)
	writeRepeated(ha, b, len(key))
	for n := len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			ha.Write(b)
		} else {
			ha.Write(key)
		}
	}
	a := ha.Sum(nil)

	// Steps 13-16: P, from digest DP = H(key repeated len(key) times).
	hp := newHash()
	for range len(key) {
		hp.Write(key)
	}
	p := repeatTo(hp.Sum(nil), len(key))

	// Steps 17-20: S, from digest DS = H(salt repeated 16+A[0] times).
	hs := newHash()
	for range 16 + int(a[0]) {
		hs.Write(salt)
	}
	s := repeatTo(hs.Sum(nil), len(salt))

	// Step 21: the rounds.
	h := newHash()
	c := a
	sum := make([]byte, 0, size)
	for i := range st.rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		sum = h.Sum(sum[:0])
		c, sum = sum, c
	}

	// Step 22: the output string.
	var out strings.Builder
	if st.sha512 {
		out.WriteString("$6$")
	} else {
		out.WriteString("$5$")
	}
	if st.roundsCustom {
		out.WriteString("rounds=")
		out.WriteString(strconv.Itoa(st.rounds))
		out.WriteByte('$')
	}
	out.WriteString(st.salt)
	out.WriteByte('$')
	if st.sha512 {
		for _, t := range sha512CryptOrder {
			encode24(&out, c[t[0]], c[t[1]], c[t[2]], 4)
		}
		encode24(&out, 0, 0, c[63], 2)
	} else {
		for _, t := range sha256CryptOrder {
			encode24(&out, c[t[0]], c[t[1]], c[t[2]], 4)
		}
		encode24(&out, 0, c[31], c[30], 3)
	}
	return out.String()
}

// verifySHACrypt reports whether key matches the parsed stored value.
func verifySHACrypt(st shaCryptSetting, key []byte) bool {
	if st.hash == "" {
		return false
	}
	got := shaCrypt(st, key)
	// Compare the hash part only: a stored value may spell rounds with
	// leading zeros or carry a salt longer than 16 characters.
	return subtle.ConstantTimeCompare([]byte(got[len(got)-len(st.hash):]), []byte(st.hash)) == 1
}

func writeRepeated(h hash.Hash, b []byte, n int) {
	for ; n > len(b); n -= len(b) {
		h.Write(b)
	}
	h.Write(b[:n])
}

func repeatTo(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out
}

func encode24(out *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}
