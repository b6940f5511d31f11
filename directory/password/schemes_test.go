package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// knownAnswers are stored values made by independent tools, so that each
// scheme is checked against someone else's implementation:
//
//   - slappasswd (OpenLDAP 2.5, /usr/sbin/slappasswd): -h {SSHA}, {SHA};
//     -o module-load=pw-sha2 -h {SSHA256} ({SHA256}, {SSHA512}, {SHA512});
//     -o module-load=argon2 -h {ARGON2} (this build writes argon2i), with
//     "argon2 m=1024 t=1 p=1" for the second one; -h {CRYPT} -c '$6$%.16s',
//     -c '$5$rounds=10000$%.16s', -c '$2b$05$%.22s'.
//   - Python 3.11: crypt.crypt("secret", "$2b$04$abcdefghijklmnopqrstuu")
//     (also $2y$ and $2a$), crypt.crypt("secret", "$5$saltstring"),
//     crypt.crypt("secret", "$6$rounds=1000$saltstring");
//     hashlib.pbkdf2_hmac(alg, b"secret", bytes(range(16)), 10000) printed
//     as OpenLDAP pw-pbkdf2 does: iterations$ab64(salt)$ab64(dk), where
//     ab64 is base64 with '.' for '+' and no padding.
//   - Argon2id: the reference implementation's test vectors
//     (P-H-C/phc-winner-argon2 src/test.c), password "password", salt
//     "somesalt".
var knownAnswers = []struct{ stored, plain string }{
	{"{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q", "secret"},
	{"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret"},
	{"{SSHA256}IWZnyR85ow/17QWQgXHMSZ7SyE4kgbiEKkfhYyp8dwRe/le/tU52WA==", "secret"},
	{"{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=", "secret"},
	{"{SSHA512}WfAKHeuHkcS6xM6QtpAFpfiWEVNM5vm/dMuvzTVvGh7SNNxcx/iZOPh0ctTFgjz/U5FlmHOGjMvcoYkJ5OeHc9uJlKeM01x5", "secret"},
	{"{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==", "secret"},
	{"{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$1DxYlsUoNRw8VjETRezwSg$yh8vO/DtoYUFR9fSGHZkjQbeHVJ4a2i9xPW4pG5bfYk", "correct horse"},
	{"{ARGON2}$argon2i$v=19$m=1024,t=1,p=1$6ZUODNWRGHmRWD+rUANc1Q$9vu0A0VFqG1f/uihBb+Z55z83x0W4L+vNmmOmeZ/g6A", "secret"},
	{"{ARGON2}$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"},
	{"{ARGON2}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"},
	{"{CRYPT}$6$rib9Vht/TQHCPsX0$thMvDzQOj7YYSoRVP8lsbVd7tDi2IsJ8f4EyVcCdFcdBJ9DYNAuTRVZrQQp60vx0u1AgozQg0nDM4v8CH2irH1", "secret"},
	{"{CRYPT}$5$rounds=10000$NVnpdBQjAAK/8DZ$z5ULwJUGFWafYfkg.k7jUAZeWQ4KsQfFDEB4ISz/6.6", "secret"},
	{"{CRYPT}$5$saltstring$C3o4O1TC6aRHF4FI.QSZMXtHbaj2gSXr4sUc/3NcUi.", "secret"},
	{"{CRYPT}$6$rounds=1000$saltstring$2BkAo106CG84raQcWpAlhyy6TSSkAsL1nfvBCoezLYyerUzY2l8axTvq6NynEt7SQAx3/cdop9ds0po8uaeHq0", "secret"},
	{"{CRYPT}$2b$05$EETBpXbXGjMkRQQ0HpHHAu1nmAQZCtDZwAMkyd9GOpbsGmjX66Jq6", "secret"},
	{"{CRYPT}$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW", "secret"},
	{"{CRYPT}$2y$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW", "secret"},
	{"{CRYPT}$2a$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW", "secret"},
	{"{PBKDF2}10000$AAECAwQFBgcICQoLDA0ODw$w7tX5nEMoIv2c5pL4bh51Yovf50", "secret"},
	{"{PBKDF2-SHA1}10000$AAECAwQFBgcICQoLDA0ODw$w7tX5nEMoIv2c5pL4bh51Yovf50", "secret"},
	{"{PBKDF2-SHA256}10000$AAECAwQFBgcICQoLDA0ODw$OImOyGKQvA8WMIN8WwuclUZFDykpCY/RxWOLBTOe8fg", "secret"},
	{"{PBKDF2-SHA512}10000$AAECAwQFBgcICQoLDA0ODw$s1qOkFay1DbcR0sablkjBgtOqf1IcoQVkkK1uzR9LdXA0A7SkKhkz0j9Li48.pDMKueSh3UUQNkgDDksLeAu.Q", "secret"},
	{"{pbkdf2-sha512}10000$AAECAwQFBgcICQoLDA0ODw$s1qOkFay1DbcR0sablkjBgtOqf1IcoQVkkK1uzR9LdXA0A7SkKhkz0j9Li48.pDMKueSh3UUQNkgDDksLeAu.Q", "secret"},
}

func TestKnownAnswers(t *testing.T) {
	h := NewHasher(Config{Workers: 2, Duty: 100})
	ctx := context.Background()
	for _, ka := range knownAnswers {
		if !IsHashed([]byte(ka.stored)) {
			t.Errorf("IsHashed(%.30s...) = false", ka.stored)
		}
		if ok, err := h.Verify(ctx, []byte(ka.stored), []byte(ka.plain)); !ok || err != nil {
			t.Errorf("Verify(%s, %q) = %v, %v; want true", ka.stored, ka.plain, ok, err)
		}
		if ok, err := h.Verify(ctx, []byte(ka.stored), []byte(ka.plain+"!")); ok || err != nil {
			t.Errorf("Verify(%s, wrong) = %v, %v; want false, nil", ka.stored, ok, err)
		}
		if ok, err := Verify([]byte(ka.stored), []byte(ka.plain)); !ok || err != nil {
			t.Errorf("package Verify(%s) = %v, %v", ka.stored, ok, err)
		}
	}
}

func TestHashSchemesRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg    Config
		prefix string
	}{
		{Config{}, "{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$"},
		{Config{Argon2: Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 2}}, "{ARGON2}$argon2id$v=19$m=1024,t=1,p=2$"},
		{Config{Scheme: "pbkdf2-sha512", PBKDF2Iterations: 1000}, "{PBKDF2-SHA512}1000$"},
		{Config{Scheme: "PBKDF2-SHA512"}, "{PBKDF2-SHA512}210000$"},
		{Config{Scheme: "ssha512"}, "{SSHA512}"},
	} {
		h := NewHasher(tc.cfg)
		a, err := h.Hash(ctx, []byte("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := h.Hash(ctx, []byte("s3cret"))
		if !strings.HasPrefix(string(a), tc.prefix) || string(a) == string(b) {
			t.Errorf("%+v: hashes %s and %s (want prefix %s, distinct salts)", tc.cfg, a, b, tc.prefix)
		}
		if !IsHashed(a) {
			t.Errorf("IsHashed(%s) = false", a)
		}
		if ok, err := h.Verify(ctx, a, []byte("s3cret")); !ok || err != nil {
			t.Errorf("Verify(own %s) = %v, %v", a, ok, err)
		}
		if ok, _ := h.Verify(ctx, a, []byte("s3cret ")); ok {
			t.Errorf("Verify(own %s) accepted a wrong password", a)
		}
		if h.NeedsRehash(a) {
			t.Errorf("NeedsRehash(own %s) = true", a)
		}
		if !h.NeedsRehash([]byte("{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q")) {
			t.Errorf("%s hasher: {SSHA} does not need a rehash", h.Scheme())
		}
	}
	// Parameters that differ from the current ones call for a rehash.
	old, _ := NewHasher(Config{Argon2: Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}}).Hash(ctx, []byte("x"))
	if !NewHasher(Config{}).NeedsRehash(old) {
		t.Error("an m=1024,t=1 Argon2id hash does not need a rehash under the defaults")
	}
	p1, _ := NewHasher(Config{Scheme: "pbkdf2-sha512", PBKDF2Iterations: 1000}).Hash(ctx, []byte("x"))
	if !NewHasher(Config{Scheme: "pbkdf2-sha512", PBKDF2Iterations: 2000}).NeedsRehash(p1) || !NewHasher(Config{}).NeedsRehash(p1) {
		t.Error("PBKDF2 with other iterations or under argon2id does not need a rehash")
	}
	if NewHasher(Config{}).NeedsRehash([]byte("{NOPE}x")) {
		t.Error("an unverifiable value needs a rehash")
	}
}

// TestCaps: values above the caps are refused quickly, with
// ErrCostTooHigh, without hashing or allocating the Argon2 memory.
func TestCaps(t *testing.T) {
	h := NewHasher(Config{Workers: 1})
	ctx := context.Background()
	over := []string{
		"{PBKDF2-SHA512}2147483648$AAECAwQFBgcICQoLDA0ODw$s1qOkFay1DbcR0sablkjBgtOqf1IcoQVkkK1uzR9LdXA0A7SkKhkz0j9Li48.pDMKueSh3UUQNkgDDksLeAu.Q",
		"{PBKDF2}1000001$AAECAwQFBgcICQoLDA0ODw$w7tX5nEMoIv2c5pL4bh51Yovf50",
		"{PBKDF2-SHA256}99999999999999999999999$AAECAwQFBgcICQoLDA0ODw$OImOyGKQvA8WMIN8WwuclUZFDykpCY/RxWOLBTOe8fg",
		"{ARGON2}$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=262145,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=11,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=2,p=9$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2i$v=19$m=99999999999999999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{CRYPT}$2b$15$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW",
		"{CRYPT}$2a$31$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW",
		"{CRYPT}$6$rounds=999999999$saltstring$2BkAo106CG84raQcWpAlhyy6TSSkAsL1nfvBCoezLYyerUzY2l8axTvq6NynEt7SQAx3/cdop9ds0po8uaeHq0",
		"{CRYPT}$5$rounds=1000001$saltstring$C3o4O1TC6aRHF4FI.QSZMXtHbaj2gSXr4sUc/3NcUi.",
	}
	for _, s := range over {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		ok, err := h.Verify(ctx, []byte(s), []byte("secret"))
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if ok || !errors.Is(err, ErrCostTooHigh) {
			t.Errorf("Verify(%.50s...) = %v, %v; want false, ErrCostTooHigh", s, ok, err)
		}
		if took > 50*time.Millisecond {
			t.Errorf("Verify(%.50s...) took %v; want a refusal under 50ms", s, took)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
			t.Errorf("Verify(%.50s...) allocated %d bytes before refusing", s, d)
		}
		if ok, err := Verify([]byte(s), []byte("secret")); ok || !errors.Is(err, ErrCostTooHigh) {
			t.Errorf("package Verify(%.50s...) = %v, %v", s, ok, err)
		}
	}
	// Caps are configurable: a lower PBKDF2 cap refuses the fixture.
	low := NewHasher(Config{Scheme: "ssha512", Caps: Caps{PBKDF2Iterations: 5000}})
	if _, err := low.Verify(ctx, []byte(knownAnswers[len(knownAnswers)-1].stored), []byte("secret")); !errors.Is(err, ErrCostTooHigh) {
		t.Errorf("PBKDF2 10000 under a cap of 5000: %v", err)
	}
	// At the cap itself a value is accepted (parse only, no hashing).
	if _, err := parse([]byte("{PBKDF2-SHA512}1000000$AAECAwQFBgcICQoLDA0ODw$s1qOkFay1DbcR0sablkjBgtOqf1IcoQVkkK1uzR9LdXA0A7SkKhkz0j9Li48.pDMKueSh3UUQNkgDDksLeAu.Q"), DefaultCaps()); err != nil {
		t.Errorf("PBKDF2 at the cap refused: %v", err)
	}
	if _, err := parse([]byte("{ARGON2}$argon2id$v=19$m=262144,t=10,p=8$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"), DefaultCaps()); err != nil {
		t.Errorf("Argon2 at the caps refused: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	h := NewHasher(Config{Workers: 1})
	ctx := context.Background()
	for _, s := range []string{
		"{SSHA}!!!notbase64", "{SSHA}AAAA", "{SHA}" + strings.Repeat("A", 40),
		"{SSHA512}", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ",
		"{PBKDF2-SHA512}", "{PBKDF2-SHA512}1000", "{PBKDF2-SHA512}1000$abc", "{PBKDF2-SHA512}0$AAECAwQFBgcICQoLDA0ODw$AA",
		"{PBKDF2-SHA512}-5$AAECAwQFBgcICQoLDA0ODw$AA", "{PBKDF2-SHA512}+5$AAECAwQFBgcICQoLDA0ODw$AA",
		"{PBKDF2-SHA512}1000$AAECAwQFBgcICQoLDA0ODw$w7tX5nEMoIv2c5pL4bh51Yovf50", // SHA-1 length under SHA-512
		"{PBKDF2}1000$$w7tX5nEMoIv2c5pL4bh51Yovf50", "{PBKDF2}1000$A+B$w7tX5nEMoIv2c5pL4bh51Yovf50",
		"{ARGON2}", "{ARGON2}$argon2id", "{ARGON2}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ",
		"{ARGON2}$argon2id$v=19$m=65536,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$t=2,m=65536,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=7,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=2,p=1$c29t$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CT!hFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2x$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{CRYPT}$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIr",
		"{CRYPT}$2b$0x$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW",
		"{CRYPT}$2b$03$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW",
		"{CRYPT}$6$saltstring", "{CRYPT}$6$saltstring$short", "{CRYPT}$5$rounds=$salt$C3o4O1TC6aRHF4FI.QSZMXtHbaj2gSXr4sUc/3NcUi.",
		"{CRYPT}$5$rounds=-1$salt$C3o4O1TC6aRHF4FI.QSZMXtHbaj2gSXr4sUc/3NcUi.",
		"{CRYPT}$5$saltstring$C3o4O1TC6aRHF4FI.QSZMXtHbaj2gSXr4sUc/3NcU!.",
	} {
		ok, err := h.Verify(ctx, []byte(s), []byte("secret"))
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", s, ok, err)
		}
	}
	for _, s := range []string{"{NOPE}abc", "{CRYPT}abJnggxhB/yWI", "{CRYPT}$1$salt$hash", "{ARGON2}$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"{ARGON2}$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "{SSHA"} {
		if ok, err := h.Verify(ctx, []byte(s), []byte("x")); ok || !errors.Is(err, ErrUnknownScheme) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrUnknownScheme", s, ok, err)
		}
	}
	// Cleartext values still compare (no scheme, or {CLEARTEXT}).
	for _, s := range []string{"plain", "{CLEARTEXT}plain"} {
		if ok, err := h.Verify(ctx, []byte(s), []byte("plain")); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v", s, ok, err)
		}
	}
	// A cleartext password that looks like a scheme is hashed on write.
	for _, s := range []string{"{my}password", "{CLEARTEXT}pw", "{", "{}x"} {
		if IsHashed([]byte(s)) {
			t.Errorf("IsHashed(%q) = true", s)
		}
	}
}
