package password

import (
	"strings"
	"testing"
)

// shaCryptVectors are the test vectors published with Ulrich Drepper's
// "Unix crypt using SHA-256 and SHA-512" specification
// (https://www.akkadia.org/drepper/SHA-crypt.txt, sha256crypt.c and
// sha512crypt.c test tables). All but the last of each were re-checked
// with Python 3.11 crypt.crypt (glibc/libxcrypt); libxcrypt refuses
// rounds=10 where the specification clamps to 1000.
var shaCryptVectors = []struct{ setting, key, want string }{
	{"$5$saltstring", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
	{"$5$rounds=10000$saltstringsaltstring", "Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
	{"$5$rounds=5000$toolongsaltstring", "This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
	{"$5$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
	{"$5$rounds=77777$short", "we have a short salt string but not a short password", "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
	{"$5$rounds=123456$asaltof16chars..", "a short string", "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"},
	{"$5$rounds=10$roundstoolow", "the minimum number is still observed", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
	{"$6$saltstring", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"$6$rounds=10000$saltstringsaltstring", "Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"$6$rounds=5000$toolongsaltstring", "This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"$6$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"$6$rounds=77777$short", "we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"$6$rounds=123456$asaltof16chars..", "a short string", "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{"$6$rounds=10$roundstoolow", "the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
}

func TestSHACryptSpecVectors(t *testing.T) {
	for _, v := range shaCryptVectors {
		st, err := parseSHACrypt(v.setting, 0)
		if err != nil {
			t.Fatalf("parse %q: %v", v.setting, err)
		}
		if got := shaCrypt(st, []byte(v.key)); got != v.want {
			t.Errorf("crypt(%q, %q)\n got %s\nwant %s", v.key, v.setting, got, v.want)
		}
		// And through {CRYPT} verification, with the caps raised for the
		// 123456-round vectors.
		caps := DefaultCaps()
		stored := []byte("{CRYPT}" + v.want)
		c, err := parse(stored, caps)
		if err != nil {
			t.Fatalf("parse {CRYPT}%s: %v", v.want, err)
		}
		if !c.check([]byte(v.key)) || c.check([]byte(v.key+"x")) {
			t.Errorf("{CRYPT}%s: verification wrong", v.want)
		}
		if strings.Contains(v.want, "rounds=123456") {
			caps.SHACryptRounds = 100000
			if _, err := parse(stored, caps); err == nil {
				t.Errorf("{CRYPT}%s accepted above a cap of 100000 rounds", v.want)
			}
		}
	}
}
