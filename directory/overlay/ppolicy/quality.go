package ppolicy

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/directory"
)

// The quality rule (pwdCheckQuality 1 or 2). The draft leaves "quality"
// to the server; this one is NIST SP 800-63B-minded, favouring length
// over composition:
//
//   - the password must not contain, ignoring case, the entry's uid, cn,
//     sn, givenName, or the local part of mail, when that value has at
//     least 3 characters;
//   - it must use at least three of the four classes lower-case letters,
//     upper-case letters, digits and other characters, or be at least 12
//     characters long and use at least two.
//
// (The passwords the server generates for Password Modify, 12 letters and
// digits, pass.)

// qualityOK reports whether pw passes the quality rule for entry en.
func qualityOK(pw []byte, en *directory.Entry) bool {
	if !utf8.Valid(pw) {
		return false
	}
	lower := bytes.ToLower(pw)
	for _, name := range []string{"uid", "cn", "sn", "givenName", "mail"} {
		for _, v := range en.Get(name) {
			if name == "mail" {
				v, _, _ = bytes.Cut(v, []byte("@"))
			}
			if utf8.RuneCount(v) >= 3 && bytes.Contains(lower, bytes.ToLower(v)) {
				return false
			}
		}
	}
	var lo, up, dig, other bool
	for _, r := range string(pw) {
		switch {
		case unicode.IsLower(r):
			lo = true
		case unicode.IsUpper(r):
			up = true
		case unicode.IsDigit(r):
			dig = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lo, up, dig, other} {
		if b {
			classes++
		}
	}
	return classes >= 3 || (classes >= 2 && utf8.RuneCount(pw) >= 12)
}
