package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Errors of Verify. A value that yields one of them never matches.
var (
	// ErrUnknownScheme reports a stored value whose scheme (or variant,
	// such as Argon2d or DES crypt) this server cannot verify.
	ErrUnknownScheme = errors.New("password: unknown scheme")
	// ErrMalformed reports a stored value of a known scheme that cannot be
	// parsed: bad base64, wrong lengths, missing fields.
	ErrMalformed = errors.New("password: malformed stored hash")
	// ErrCostTooHigh reports a stored hash whose work factor exceeds the
	// configured cap (Caps). It is refused before any hashing, so that an
	// imported or planted value cannot burn CPU or memory (compare 389-ds
	// CVE-2026-11790: PBKDF2 with 2^31 iterations).
	ErrCostTooHigh = errors.New("password: stored hash cost exceeds the configured cap")
)

// Caps bounds the work factors of stored hashes that Verify will compute.
// A zero field takes the default shown.
type Caps struct {
	PBKDF2Iterations int    // default 1,000,000
	Argon2MemoryKiB  uint32 // default 262144 (256 MiB)
	Argon2Time       uint32 // default 10
	Argon2Threads    uint8  // default 8
	BcryptCost       int    // default 14
	SHACryptRounds   int    // default 1,000,000
}

// DefaultCaps returns the caps used when Config.Caps (or a field of it)
// is zero.
func DefaultCaps() Caps { return defaultCaps }

var defaultCaps = Caps{
	PBKDF2Iterations: 1_000_000,
	Argon2MemoryKiB:  256 << 10,
	Argon2Time:       10,
	Argon2Threads:    8,
	BcryptCost:       14,
	SHACryptRounds:   1_000_000,
}

func (c Caps) withDefaults() Caps {
	if c.PBKDF2Iterations <= 0 {
		c.PBKDF2Iterations = defaultCaps.PBKDF2Iterations
	}
	if c.Argon2MemoryKiB == 0 {
		c.Argon2MemoryKiB = defaultCaps.Argon2MemoryKiB
	}
	if c.Argon2Time == 0 {
		c.Argon2Time = defaultCaps.Argon2Time
	}
	if c.Argon2Threads == 0 {
		c.Argon2Threads = defaultCaps.Argon2Threads
	}
	if c.BcryptCost <= 0 {
		c.BcryptCost = defaultCaps.BcryptCost
	}
	if c.SHACryptRounds <= 0 {
		c.SHACryptRounds = defaultCaps.SHACryptRounds
	}
	return c
}

// kind names a stored scheme for NeedsRehash.
type kind uint8

const (
	kindCleartext kind = iota
	kindSalted         // {SSHA*}/{SHA*}
	kindCrypt          // {CRYPT}
	kindPBKDF2
	kindArgon2
)

// checker is a parsed stored value: what it costs and how to test a
// candidate password against it. parse does all validation (caps
// included) so that check only computes.
type checker struct {
	kind   kind
	scheme string // upper-case scheme name, e.g. "SSHA512", "PBKDF2-SHA512"
	// weight is the number of pool slots the computation needs: 0 for the
	// cheap schemes (run inline), the lane count for Argon2, 1 otherwise.
	weight int

	// Parameters, for check and NeedsRehash.
	raw      []byte // decoded digest+salt ({SSHA*}) or derived key
	salt     []byte
	newHash  func() hash.Hash
	size     int // digest size of newHash
	iter     int
	argonID  bool
	m, t     uint32
	p        uint8
	crypt    string // {CRYPT} value (bcrypt)
	shacrypt shaCryptSetting
	clear    []byte
}

// parse validates stored against caps without hashing.
func parse(stored []byte, caps Caps) (checker, error) {
	s := string(stored)
	if !strings.HasPrefix(s, "{") {
		return checker{kind: kindCleartext, clear: stored}, nil
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return checker{}, ErrUnknownScheme
	}
	scheme, rest := strings.ToUpper(s[1:end]), s[end+1:]
	switch scheme {
	case "CLEARTEXT":
		return checker{kind: kindCleartext, scheme: scheme, clear: []byte(rest)}, nil
	case "SHA", "SSHA":
		return parseSalted(scheme, rest, sha1.New, sha1.Size)
	case "SHA256", "SSHA256":
		return parseSalted(scheme, rest, sha256.New, sha256.Size)
	case "SHA512", "SSHA512":
		return parseSalted(scheme, rest, sha512.New, sha512.Size)
	case "PBKDF2", "PBKDF2-SHA1":
		return parsePBKDF2(scheme, rest, sha1.New, sha1.Size, caps)
	case "PBKDF2-SHA256":
		return parsePBKDF2(scheme, rest, sha256.New, sha256.Size, caps)
	case "PBKDF2-SHA512":
		return parsePBKDF2(scheme, rest, sha512.New, sha512.Size, caps)
	case "ARGON2":
		return parseArgon2(rest, caps)
	case "CRYPT":
		return parseCrypt(rest, caps)
	}
	return checker{}, ErrUnknownScheme
}

// argonUnits is m*t of an Argon2 value (the work in KiB-passes), else 0.
func (c *checker) argonUnits() uint64 {
	if c.kind != kindArgon2 {
		return 0
	}
	return uint64(c.m) * uint64(c.t)
}

// check computes the candidate's hash and compares it in constant time.
func (c *checker) check(plain []byte) bool {
	switch c.kind {
	case kindCleartext:
		return subtle.ConstantTimeCompare(c.clear, plain) == 1
	case kindSalted:
		h := c.newHash()
		h.Write(plain)
		h.Write(c.raw[c.size:])
		return subtle.ConstantTimeCompare(h.Sum(nil), c.raw[:c.size]) == 1
	case kindPBKDF2:
		dk, err := pbkdf2.Key(c.newHash, string(plain), c.salt, c.iter, len(c.raw))
		return err == nil && subtle.ConstantTimeCompare(dk, c.raw) == 1
	case kindArgon2:
		var dk []byte
		if c.argonID {
			dk = argon2.IDKey(plain, c.salt, c.t, c.m, c.p, uint32(len(c.raw)))
		} else {
			dk = argon2.Key(plain, c.salt, c.t, c.m, c.p, uint32(len(c.raw)))
		}
		return subtle.ConstantTimeCompare(dk, c.raw) == 1
	case kindCrypt:
		if c.crypt != "" {
			return bcrypt.CompareHashAndPassword([]byte(c.crypt), plain) == nil
		}
		return verifySHACrypt(c.shacrypt, plain)
	}
	return false
}

// parseSalted handles the RFC 2307 style {SHA*}/{SSHA*}: base64 of the
// digest, followed by the salt for the salted forms.
func parseSalted(scheme, rest string, newHash func() hash.Hash, size int) (checker, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		return checker{}, fmt.Errorf("%w: {%s} value is not valid base64", ErrMalformed, scheme)
	}
	salted := scheme[0] == 'S' && scheme[1] == 'S'
	if len(raw) < size || (!salted && len(raw) != size) || (salted && len(raw)-size > 64) {
		return checker{}, fmt.Errorf("%w: {%s} value has the wrong length", ErrMalformed, scheme)
	}
	return checker{kind: kindSalted, scheme: scheme, raw: raw, newHash: newHash, size: size}, nil
}

// ab64 is the "adapted base64" of OpenLDAP's pw-pbkdf2 module (and
// passlib): standard base64 with '.' for '+' and no padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding).Strict()

// parsePBKDF2 handles OpenLDAP pw-pbkdf2 values: <iterations>$<ab64
// salt>$<ab64 derived key>, the key as long as the digest.
func parsePBKDF2(scheme, rest string, newHash func() hash.Hash, size int, caps Caps) (checker, error) {
	it, rest, ok1 := strings.Cut(rest, "$")
	saltStr, dkStr, ok2 := strings.Cut(rest, "$")
	if !ok1 || !ok2 || !allDigits(it) {
		return checker{}, fmt.Errorf("%w: {%s} wants <iterations>$<salt>$<hash>", ErrMalformed, scheme)
	}
	n, err := strconv.ParseUint(it, 10, 64)
	if err != nil || n > uint64(caps.PBKDF2Iterations) {
		return checker{}, fmt.Errorf("%w: {%s} with %s iterations (cap %d)", ErrCostTooHigh, scheme, it, caps.PBKDF2Iterations)
	}
	if n == 0 {
		return checker{}, fmt.Errorf("%w: {%s} with 0 iterations", ErrMalformed, scheme)
	}
	salt, err1 := ab64.DecodeString(strings.TrimRight(saltStr, "="))
	dk, err2 := ab64.DecodeString(strings.TrimRight(dkStr, "="))
	if err1 != nil || err2 != nil || len(salt) == 0 || len(salt) > 64 || len(dk) != size {
		return checker{}, fmt.Errorf("%w: {%s} salt or hash is not valid adapted base64 of the right length", ErrMalformed, scheme)
	}
	return checker{kind: kindPBKDF2, scheme: scheme, weight: 1, raw: dk, salt: salt, newHash: newHash, size: size, iter: int(n)}, nil
}

// parseArgon2 handles OpenLDAP pw-argon2 values: the PHC string format
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash> with
// unpadded standard base64. Only version 19 (0x13) is supported, as in
// golang.org/x/crypto/argon2.
func parseArgon2(rest string, caps Caps) (checker, error) {
	f := strings.Split(rest, "$")
	if len(f) == 5 && f[0] == "" && strings.HasPrefix(f[2], "m=") {
		return checker{}, fmt.Errorf("%w: Argon2 version 1.0 (no v= field) is not supported", ErrUnknownScheme)
	}
	if len(f) != 6 || f[0] != "" {
		return checker{}, fmt.Errorf("%w: {ARGON2} wants $variant$v=19$m=,t=,p=$salt$hash", ErrMalformed)
	}
	c := checker{kind: kindArgon2, scheme: "ARGON2"}
	switch f[1] {
	case "argon2id":
		c.argonID = true
	case "argon2i":
	case "argon2d":
		return checker{}, fmt.Errorf("%w: Argon2d is not supported", ErrUnknownScheme)
	default:
		return checker{}, fmt.Errorf("%w: Argon2 variant %q", ErrMalformed, f[1])
	}
	if f[2] != "v=19" {
		return checker{}, fmt.Errorf("%w: Argon2 version %q is not supported", ErrUnknownScheme, f[2])
	}
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return checker{}, fmt.Errorf("%w: Argon2 parameters %q", ErrMalformed, f[3])
	}
	var vals [3]uint64
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok || !allDigits(v) || len(v) > 20 {
			return checker{}, fmt.Errorf("%w: Argon2 parameters %q", ErrMalformed, f[3])
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return checker{}, fmt.Errorf("%w: Argon2 parameter %s%s", ErrCostTooHigh, name, v)
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	if m > uint64(caps.Argon2MemoryKiB) || t > uint64(caps.Argon2Time) || p > uint64(caps.Argon2Threads) {
		return checker{}, fmt.Errorf("%w: Argon2 m=%d,t=%d,p=%d (caps m=%d,t=%d,p=%d)", ErrCostTooHigh, m, t, p, caps.Argon2MemoryKiB, caps.Argon2Time, caps.Argon2Threads)
	}
	if t < 1 || p < 1 || p > 255 || m < 8*p {
		return checker{}, fmt.Errorf("%w: Argon2 parameters m=%d,t=%d,p=%d out of range", ErrMalformed, m, t, p)
	}
	salt, err1 := base64.RawStdEncoding.Strict().DecodeString(f[4])
	dk, err2 := base64.RawStdEncoding.Strict().DecodeString(f[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(dk) < 4 || len(dk) > 128 {
		return checker{}, fmt.Errorf("%w: Argon2 salt or hash is not valid base64 of a sane length", ErrMalformed)
	}
	c.m, c.t, c.p = uint32(m), uint32(t), uint8(p)
	c.salt, c.raw = salt, dk
	c.weight = int(p)
	return c, nil
}

// parseCrypt handles {CRYPT} with bcrypt ($2a$, $2b$, $2y$) or SHA-crypt
// ($5$, $6$). Traditional DES and MD5 ($1$) crypt are not supported.
func parseCrypt(rest string, caps Caps) (checker, error) {
	switch {
	case strings.HasPrefix(rest, "$2a$"), strings.HasPrefix(rest, "$2b$"), strings.HasPrefix(rest, "$2y$"):
		// $2b$cc$ + 22 salt + 31 hash characters = 60 bytes.
		if len(rest) != 60 || rest[6] != '$' || !allDigits(rest[4:6]) {
			return checker{}, fmt.Errorf("%w: bcrypt value has the wrong shape", ErrMalformed)
		}
		cost, _ := strconv.Atoi(rest[4:6])
		if cost > caps.BcryptCost {
			return checker{}, fmt.Errorf("%w: bcrypt cost %d (cap %d)", ErrCostTooHigh, cost, caps.BcryptCost)
		}
		if cost < bcrypt.MinCost {
			return checker{}, fmt.Errorf("%w: bcrypt cost %d", ErrMalformed, cost)
		}
		return checker{kind: kindCrypt, scheme: "CRYPT", weight: 1, crypt: rest, iter: cost}, nil
	case strings.HasPrefix(rest, "$5$"), strings.HasPrefix(rest, "$6$"):
		st, err := parseSHACrypt(rest, caps.SHACryptRounds)
		if err != nil {
			return checker{}, err
		}
		if st.hash == "" {
			return checker{}, fmt.Errorf("%w: SHA-crypt value without a hash", ErrMalformed)
		}
		return checker{kind: kindCrypt, scheme: "CRYPT", weight: 1, shacrypt: st, iter: st.rounds}, nil
	}
	return checker{}, fmt.Errorf("%w: {CRYPT} supports only bcrypt ($2a$, $2b$, $2y$) and SHA-crypt ($5$, $6$)", ErrUnknownScheme)
}

// knownScheme reports whether name (upper case, without braces) is a
// scheme that parse understands.
func knownScheme(name string) bool {
	switch name {
	case "CLEARTEXT", "SHA", "SSHA", "SHA256", "SSHA256", "SHA512", "SSHA512",
		"PBKDF2", "PBKDF2-SHA1", "PBKDF2-SHA256", "PBKDF2-SHA512", "ARGON2", "CRYPT":
		return true
	}
	return false
}
