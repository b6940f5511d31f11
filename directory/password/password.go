// Package password hashes and verifies userPassword values in the
// `{SCHEME}value` form of RFC 2307 section 5.3 that OpenLDAP and 389-ds use.
//
// New passwords are hashed by a Hasher, by default with Argon2id (RFC 9106)
// in the form of OpenLDAP's pw-argon2 module (slappw-argon2(5)), which is
// the PHC string format with unpadded standard base64:
//
//	{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// or, if configured, with PBKDF2-HMAC-SHA512 in the form of OpenLDAP's
// pw-pbkdf2 module ("adapted base64": '.' for '+', no padding)
//
//	{PBKDF2-SHA512}<iterations>$<ab64 salt>$<ab64 hash>
//
// or with {SSHA512}. Supported for verification (imports):
//
//   - {SSHA}, {SHA}, {SSHA256}, {SHA256}, {SSHA512}, {SHA512}: base64 of
//     the digest of password+salt, followed by the salt;
//   - {PBKDF2} (= {PBKDF2-SHA1}), {PBKDF2-SHA256}, {PBKDF2-SHA512};
//   - {ARGON2} with argon2id or argon2i, version 19;
//   - {CRYPT} with bcrypt ($2a$, $2b$, $2y$) or SHA-crypt ($5$, $6$,
//     with rounds=, after Drepper's specification; see shacrypt.go);
//   - a cleartext value (no scheme, or {CLEARTEXT}).
//
// A stored hash whose cost exceeds the Hasher's Caps (PBKDF2 iterations,
// Argon2 m/t/p, bcrypt cost, SHA-crypt rounds) is refused with
// ErrCostTooHigh before any work is done; malformed values never match.
// The expensive schemes (Argon2, PBKDF2, bcrypt, SHA-crypt) run in the
// Hasher's bounded pool: at most Workers at once (default half the CPUs),
// and a worker that verified rests in proportion to the CPU time it used
// (Duty, default 30%), so that a bind storm gets a bounded share of the
// CPU and searches keep the rest. {SSHA*} and {SHA*} run inline.
//
// The package-level Verify and Hash are for callers without a Hasher: Verify
// uses DefaultCaps and runs in the caller; Hash writes {SSHA512}.
package password

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
)

// IsHashed reports whether v starts with the {SCHEME} prefix of a scheme
// this package knows, and so is stored as it is rather than hashed. A
// cleartext password that merely starts with braces is not "hashed".
func IsHashed(v []byte) bool {
	s := string(v)
	if !strings.HasPrefix(s, "{") {
		return false
	}
	end := strings.IndexByte(s, '}')
	if end <= 1 || end >= 32 {
		return false
	}
	name := strings.ToUpper(s[1:end])
	return name != "CLEARTEXT" && knownScheme(name)
}

// Hash returns the {SSHA512} hash of plain with a fresh random salt.
func Hash(plain []byte) []byte {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic("password: crypto/rand failed: " + err.Error())
	}
	return saltedHash("{SSHA512}", sha512.New(), plain, salt)
}

func saltedHash(scheme string, h hash.Hash, plain, salt []byte) []byte {
	h.Write(plain)
	h.Write(salt)
	sum := append(h.Sum(nil), salt...)
	out := make([]byte, len(scheme)+base64.StdEncoding.EncodedLen(len(sum)))
	copy(out, scheme)
	base64.StdEncoding.Encode(out[len(scheme):], sum)
	return out
}

// Verify reports whether plain matches the stored value, with DefaultCaps
// and in the caller's goroutine (no pool). Servers use Hasher.Verify.
func Verify(stored, plain []byte) (bool, error) {
	c, err := parse(stored, defaultCaps)
	if err != nil {
		return false, err
	}
	return c.check(plain), nil
}

// Generate returns a random password of n characters from an alphabet
// without look-alikes, for the server-generated password of RFC 3062.
func Generate(n int) []byte {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	out := make([]byte, n)
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic("password: crypto/rand failed: " + err.Error())
	}
	for i, b := range buf {
		out[i] = alphabet[int(b)%len(alphabet)]
	}
	return out
}
