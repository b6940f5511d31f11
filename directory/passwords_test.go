package directory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// openWithPasswords opens an in-memory engine with a Hasher and
// RehashOnBind, plus the suffix and ou=people.
func openWithPasswords(t *testing.T, h *password.Hasher, rehash bool) *Engine {
	return openTestWith(t, Options{Passwords: h, RehashOnBind: rehash})
}

var cheapArgon = password.Config{Argon2: password.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, Workers: 2}

func TestPasswordsHashedWithConfiguredScheme(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg    password.Config
		prefix string
	}{
		{password.Config{}, "{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$"}, // nil Options.Passwords: the default
		{cheapArgon, "{ARGON2}$argon2id$v=19$m=256,t=1,p=1$"},
		{password.Config{Scheme: "pbkdf2-sha512", PBKDF2Iterations: 1000}, "{PBKDF2-SHA512}1000$"},
		{password.Config{Scheme: "ssha512"}, "{SSHA512}"},
	} {
		var h *password.Hasher
		if tc.cfg.Scheme != "" || tc.cfg.Workers != 0 {
			h = password.NewHasher(tc.cfg)
		}
		e := openWithPasswords(t, h, false)
		dn := "uid=p,ou=people,dc=example,dc=com"
		must(t, errOf(e.Add(ctx, dn, person("p", "Pat", "Lee", "userPassword", "hunter2"), WriteOptions{})))
		en, _ := e.Get(ctx, dn)
		if pw := en.First("userPassword"); !strings.HasPrefix(pw, tc.prefix) {
			t.Errorf("stored %q; want prefix %s", pw, tc.prefix)
		}
		if _, err := e.Authenticate(ctx, dn, []byte("hunter2")); err != nil {
			t.Errorf("%s: correct password refused: %v", tc.prefix, err)
		}
		// Modify replace hashes too; a value that only looks like a scheme
		// is a cleartext password and is hashed.
		_, err := e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "userPassword", Values: [][]byte{[]byte("{my}pass")}}}}, WriteOptions{})
		must(t, err)
		en, _ = e.Get(ctx, dn)
		if pw := en.First("userPassword"); !strings.HasPrefix(pw, tc.prefix) {
			t.Errorf("after modify stored %q; want prefix %s", pw, tc.prefix)
		}
		if _, err := e.Authenticate(ctx, dn, []byte("{my}pass")); err != nil {
			t.Errorf("%s: password set by modify refused: %v", tc.prefix, err)
		}
	}
}

func TestRehashOnBind(t *testing.T) {
	ctx := context.Background()
	const ssha = "{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q" // slappasswd -s secret
	for _, rehash := range []bool{false, true} {
		e := openWithPasswords(t, password.NewHasher(cheapArgon), rehash)
		dn := "uid=p,ou=people,dc=example,dc=com"
		must(t, errOf(e.Add(ctx, dn, person("p", "Pat", "Lee", "userPassword", ssha, "userPassword", "{SSHA512}second"), WriteOptions{})))
		before, _ := e.Get(ctx, dn)
		if _, err := e.Authenticate(ctx, dn, []byte("secret")); err != nil {
			t.Fatalf("bind with the imported {SSHA}: %v", err)
		}
		after, _ := e.Get(ctx, dn)
		vals := after.Get("userPassword")
		if len(vals) != 2 {
			t.Fatalf("rehash=%v: userPassword now %q", rehash, vals)
		}
		upgraded := false
		for _, v := range vals {
			if strings.HasPrefix(string(v), "{ARGON2}$argon2id$v=19$m=256,t=1,p=1$") {
				upgraded = true
			}
			if string(v) == ssha && rehash {
				t.Errorf("old {SSHA} value kept after a rehash")
			}
		}
		if upgraded != rehash {
			t.Errorf("rehash=%v: values %q", rehash, vals)
		}
		if rehash && after.First("modifyTimestamp") == "" {
			t.Error("rehash did not go through an ordinary modify (no modifyTimestamp)")
		}
		if !rehash && after.First("modifyTimestamp") != before.First("modifyTimestamp") {
			t.Error("a bind without rehash modified the entry")
		}
		// The new value verifies, the other value was left alone.
		if _, err := e.Authenticate(ctx, dn, []byte("secret")); err != nil {
			t.Errorf("bind after rehash: %v", err)
		}
		if !slices.ContainsFunc(vals, func(v []byte) bool { return string(v) == "{SSHA512}second" }) {
			t.Error("the other userPassword value was lost")
		}
	}
}

func TestAuthenticateRefusesOverCap(t *testing.T) {
	ctx := context.Background()
	e := openWithPasswords(t, password.NewHasher(cheapArgon), true)
	dn := "uid=p,ou=people,dc=example,dc=com"
	huge := "{PBKDF2-SHA512}2147483648$AAECAwQFBgcICQoLDA0ODw$s1qOkFay1DbcR0sablkjBgtOqf1IcoQVkkK1uzR9LdXA0A7SkKhkz0j9Li48.pDMKueSh3UUQNkgDDksLeAu.Q"
	must(t, errOf(e.Add(ctx, dn, person("p", "Pat", "Lee", "userPassword", huge), WriteOptions{})))
	if _, err := e.Authenticate(ctx, dn, []byte("secret")); code(err) != ldap.InvalidCredentials {
		t.Errorf("bind against a 2^31-iteration PBKDF2: %v; want invalidCredentials", err)
	}
	en, _ := e.Get(ctx, dn)
	if en.First("userPassword") != huge {
		t.Error("the refused value was rewritten")
	}
}

// TestAuthenticateDummyVerification: a failed bind that had no value of an
// expensive scheme to check (no such entry, no userPassword, only a cheap
// legacy hash) runs the Hasher's dummy verification, so that it costs
// what a wrong password costs; a bind that checked an Argon2 value, or
// succeeded, does not.
func TestAuthenticateDummyVerification(t *testing.T) {
	ctx := context.Background()
	h := password.NewHasher(cheapArgon)
	e := openWithPasswords(t, h, false)
	people := ",ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, "uid=argon"+people, person("argon", "A", "R", "userPassword", "hunter2"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "uid=nopw"+people, person("nopw", "N", "P"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "uid=legacy"+people, person("legacy", "L", "G", "userPassword", "{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q"), WriteOptions{})))
	for _, tc := range []struct {
		dn, pw string
		ok     bool
		dummy  bool
	}{
		{"uid=missing" + people, "x", false, true},
		{"cn=elsewhere,dc=example,dc=org", "x", false, true},
		{"uid=nopw" + people, "x", false, true},
		{"uid=legacy" + people, "wrong", false, true},
		{"uid=legacy" + people, "secret", true, false},
		{"uid=argon" + people, "wrong", false, false},
		{"uid=argon" + people, "hunter2", true, false},
	} {
		before := h.DummyVerifications()
		_, err := e.Authenticate(ctx, tc.dn, []byte(tc.pw))
		if ok := err == nil; ok != tc.ok {
			t.Errorf("%s/%s: %v; want success %v", tc.dn, tc.pw, err, tc.ok)
		} else if le := (*ldap.Error)(nil); err != nil && (!errors.As(err, &le) || le.Code != ldap.InvalidCredentials || le.Message != "invalid credentials") {
			t.Errorf("%s/%s: %v; want invalidCredentials", tc.dn, tc.pw, err)
		}
		if dummy := h.DummyVerifications() > before; dummy != tc.dummy {
			t.Errorf("%s/%s: dummy verification %v; want %v", tc.dn, tc.pw, dummy, tc.dummy)
		}
	}
}
