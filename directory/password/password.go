// Package password hashes and verifies userPassword values in the
// `{SCHEME}base64` form of RFC 2307 section 5.3 that OpenLDAP and 389-ds use.
//
// Supported for verification: {SSHA}, {SHA}, {SSHA256}, {SHA256}, {SSHA512},
// {SHA512} and a cleartext value (no scheme, or {CLEARTEXT}). New passwords
// are hashed with {SSHA512} and a 16-byte random salt.
//
// The security issue owns the stronger defaults (Argon2id, PBKDF2, crypt),
// cost caps and the bounded hashing pool; this package is where they go.
package password

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"strings"
)

// ErrUnknownScheme reports a stored value whose scheme this server cannot
// verify. Such a value never matches.
var ErrUnknownScheme = errors.New("password: unknown scheme")

// IsHashed reports whether v already carries a {SCHEME} prefix.
func IsHashed(v []byte) bool {
	s := string(v)
	if !strings.HasPrefix(s, "{") {
		return false
	}
	end := strings.IndexByte(s, '}')
	return end > 1 && end < 32
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

// Verify reports whether plain matches the stored value. It runs in time
// independent of where a mismatch occurs.
func Verify(stored, plain []byte) (bool, error) {
	s := string(stored)
	if !strings.HasPrefix(s, "{") {
		return subtle.ConstantTimeCompare(stored, plain) == 1, nil
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return false, ErrUnknownScheme
	}
	scheme, rest := strings.ToUpper(s[1:end]), s[end+1:]
	var h hash.Hash
	var size int
	salted := false
	switch scheme {
	case "CLEARTEXT":
		return subtle.ConstantTimeCompare([]byte(rest), plain) == 1, nil
	case "SHA", "SSHA":
		h, size, salted = sha1.New(), sha1.Size, scheme == "SSHA"
	case "SHA256", "SSHA256":
		h, size, salted = sha256.New(), sha256.Size, scheme == "SSHA256"
	case "SHA512", "SSHA512":
		h, size, salted = sha512.New(), sha512.Size, scheme == "SSHA512"
	default:
		return false, ErrUnknownScheme
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return false, errors.New("password: stored hash is not valid base64")
	}
	if len(raw) < size || (!salted && len(raw) != size) {
		return false, errors.New("password: stored hash has the wrong length")
	}
	h.Write(plain)
	h.Write(raw[size:])
	return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1, nil
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
