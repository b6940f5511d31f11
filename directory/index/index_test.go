package index

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/switchboard-ldap/switchboard/schema"
)

func TestIntegerKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var nums []string
	for range 2000 {
		n := big.NewInt(r.Int64N(1e18))
		n.Mul(n, big.NewInt(r.Int64N(1e6)+1))
		if r.IntN(2) == 0 {
			n.Neg(n)
		}
		nums = append(nums, n.String())
	}
	nums = append(nums, "0", "-1", "1", "9", "10", "-9", "-10", "123456789012345678901234567890")
	sort.Slice(nums, func(i, j int) bool {
		a, _ := new(big.Int).SetString(nums[i], 10)
		b, _ := new(big.Int).SetString(nums[j], 10)
		return a.Cmp(b) < 0
	})
	var prev []byte
	for i, n := range nums {
		k, ok := integerKey([]byte(n))
		if !ok {
			t.Fatalf("integerKey(%s) failed", n)
		}
		if i > 0 && bytes.Compare(prev, k) > 0 {
			t.Fatalf("key of %s sorts before key of %s", n, nums[i-1])
		}
		prev = k
	}
	for _, bad := range []string{"", "-", "01", "-0", "1.5", "x"} {
		if _, ok := integerKey([]byte(bad)); ok {
			t.Errorf("integerKey(%q) accepted", bad)
		}
	}
}

func TestTimeKeyOrder(t *testing.T) {
	times := []string{"19700101000000Z", "20250101110000Z", "20250101120000+0100", "20250101120000Z", "20250101120000.5Z", "99991231235959Z"}
	keys := make([][]byte, len(times))
	for i, v := range times {
		k, ok := timeKey([]byte(v))
		if !ok {
			t.Fatalf("timeKey(%s) failed", v)
		}
		keys[i] = k
	}
	// 20250101120000+0100 is 11:00Z, equal to the second value.
	if !bytes.Equal(keys[1], keys[2]) {
		t.Error("equal instants have different keys")
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) > 0 {
			t.Errorf("%s sorts after %s", times[i-1], times[i])
		}
	}
	if bytes.Equal(keys[3], keys[4]) {
		t.Error("fractional seconds ignored")
	}
}

func TestEscapedKeysKeepOrder(t *testing.T) {
	vals := [][]byte{{}, {0}, {0, 0}, {0, 1}, {1}, []byte("a"), []byte("a\x00"), []byte("ab"), {0xff}}
	var prev []byte
	for i, v := range vals {
		k := appendEscaped(nil, v)
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			t.Errorf("escaped %q does not sort after %q", v, vals[i-1])
		}
		prev = k
	}
}

func TestGrams(t *testing.T) {
	v := []byte("smith")
	have := map[string]bool{}
	for _, g := range ValueGrams(v) {
		have[string(g)] = true
	}
	for _, q := range []struct {
		initial []byte
		any     [][]byte
		final   []byte
	}{
		{initial: []byte("s")}, {initial: []byte("smi")}, {any: [][]byte{[]byte("mit")}}, {final: []byte("h")},
		{final: []byte("ith")}, {initial: []byte("sm"), final: []byte("th")}, {any: [][]byte{[]byte("smith")}},
	} {
		grams := QueryGrams(q.initial, q.any, q.final)
		if len(grams) == 0 {
			t.Errorf("%+v: no grams", q)
		}
		for _, g := range grams {
			if !have[string(g)] {
				t.Errorf("%+v: gram %q not among the value's grams", q, g)
			}
		}
	}
	if g := QueryGrams(nil, [][]byte{[]byte("mi")}, nil); len(g) != 0 {
		t.Errorf("a 2-byte any piece gave grams %q", g)
	}
}

func TestConfigChecksKinds(t *testing.T) {
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewConfig(s, map[string][]string{"cn": {"eq", "sub", "approx", "pres"}, "uidNumber": {"ord"}}); err != nil {
		t.Errorf("cn with every kind: %v", err)
	}
	for _, spec := range []map[string][]string{
		{"nosuchattr": {"eq"}},
		{"cn": {"fuzzy"}},
		{"userPassword": {"sub"}},
		{"jpegPhoto": {"eq"}},
		{"cn": {"ord"}}, // name has no ORDERING rule
	} {
		if _, err := NewConfig(s, spec); err == nil {
			t.Errorf("%v accepted", spec)
		}
	}
	if k, _ := ParseKinds([]string{"EQ", "ordering"}); k != Equality|Ordering {
		t.Errorf("ParseKinds = %v", k)
	}
}

// FuzzKeyValues: the value parts of ordering and equality keys read back
// what the keys were built from, and malformed ones are refused, never a
// panic.
func FuzzKeyValues(f *testing.F) {
	for _, s := range []string{"", "a", "\x00", "\x00\x00", "ab\x00\xffc", "\x00\x01", string(make([]byte, 300))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a := &Attribute{name: "x"}
		rest := a.OrderingBound(b)[len(a.OrderingPrefix()):]
		if got, ok := AppendOrderingValue(nil, rest); !ok || !bytes.Equal(got, b) {
			t.Fatalf("ordering key of %x read back as %x, %v", b, got, ok)
		}
		rest = a.EqualityPrefix(b)[len(a.EqualityHead()):]
		got, ok := EqualityValue(rest)
		if len(b) <= maxEqualityBytes && (!ok || !bytes.Equal(got, b)) {
			t.Fatalf("equality key of %x read back as %x, %v", b, got, ok)
		}
		if len(b) > maxEqualityBytes && ok {
			t.Fatalf("equality key of %d bytes (hashed) read back as a value", len(b))
		}
		AppendOrderingValue(nil, b) // arbitrary bytes: no panic
		EqualityValue(b)
	})
}
