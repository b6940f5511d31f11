package change

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestCSNTextRoundTrip(t *testing.T) {
	// A value as slapd 2.5 writes it in entryCSN.
	const s = "20261126223011.123456Z#00000a#001#000000"
	c, err := ParseCSN(s)
	if err != nil {
		t.Fatal(err)
	}
	want := CSN{Time: time.Date(2026, 11, 26, 22, 30, 11, 123456000, time.UTC).UnixMicro(), Counter: 10, Replica: 1}
	if c != want {
		t.Fatalf("ParseCSN(%q) = %+v, want %+v", s, c, want)
	}
	if got := c.String(); got != s {
		t.Fatalf("String() = %q, want %q", got, s)
	}
	upper, err := ParseCSN("20261126223011.123456Z#00000A#FFF#00000B")
	if err != nil || upper.Counter != 10 || upper.Replica != 0xfff || upper.Sub != 11 {
		t.Fatalf("upper-case hex: %+v, %v", upper, err)
	}
}

func TestParseCSNRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"20261126223011Z#000000#001#000000",
		"20261126223011.123456Z#00000g#001#000000",
		"20261126223011.123456Z#+00001#001#000000",
		"20261126223011.123456Z#000001#001#00000",
		"20261326223011.123456Z#000001#001#000000",
		"19691231235959.999999Z#000001#001#000000",
		"20261126223011.123456Z-000001#001#000000",
	} {
		if _, err := ParseCSN(s); !errors.Is(err, ErrCSNSyntax) {
			t.Errorf("ParseCSN(%q) err = %v, want ErrCSNSyntax", s, err)
		}
	}
}

func randomCSN(r *rand.Rand) CSN {
	// Small ranges so that ties on the leading fields are common.
	return CSN{
		Time:    1_700_000_000_000_000 + r.Int64N(4),
		Counter: uint32(r.IntN(3)) * 0x7fffff,
		Replica: uint16(r.IntN(3)) * 0x7ff,
		Sub:     uint32(r.IntN(3)) * 0x7fffff,
	}
}

// The binary form sorts as CSNs compare, and both forms round-trip.
func TestCSNOrderingForms(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := randomCSN(r), randomCSN(r)
		ab, bb := a.AppendBinary(nil), b.AppendBinary(nil)
		if got, want := bytes.Compare(ab, bb), a.Compare(b); got != want {
			t.Fatalf("%v vs %v: bytes.Compare = %d, Compare = %d", a, b, got, want)
		}
		if got, want := compareText(a.String(), b.String()), a.Compare(b); got != want {
			t.Fatalf("%v vs %v: text order %d, Compare %d", a, b, got, want)
		}
		if d, err := DecodeCSN(ab); err != nil || d != a {
			t.Fatalf("DecodeCSN(%x) = %v, %v; want %v", ab, d, err, a)
		}
		if p, err := ParseCSN(a.String()); err != nil || p != a {
			t.Fatalf("ParseCSN(%s) = %v, %v", a, p, err)
		}
	}
}

func compareText(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func FuzzParseCSN(f *testing.F) {
	f.Add("20261126223011.123456Z#00000a#001#000000")
	f.Add("19700101000000.000000Z#000000#000#000000")
	f.Add("99991231235959.999999Z#ffffff#fff#ffffff")
	f.Add("20261126223011.123456Z#00000a#001#00000")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCSN(s)
		if err != nil {
			return
		}
		again, err := ParseCSN(c.String())
		if err != nil || again != c {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, c, c.String(), again, err)
		}
		if d, err := DecodeCSN(c.AppendBinary(nil)); err != nil || d != c {
			t.Fatalf("binary round trip of %v: %v, %v", c, d, err)
		}
	})
}

func FuzzDecodeCSN(f *testing.F) {
	f.Add(CSN{Time: 1, Counter: 2, Replica: 3, Sub: 4}.AppendBinary(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCSN(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.AppendBinary(nil), b[:CSNSize]) {
			t.Fatalf("%x decodes to %v, which encodes differently", b[:CSNSize], c)
		}
		if p, err := ParseCSN(c.String()); err != nil || p != c {
			t.Fatalf("%v: text %q parses to %v, %v", c, c.String(), p, err)
		}
	})
}

func TestDecodeCSNBounds(t *testing.T) {
	last := CSN{Time: MaxTime, Counter: MaxCounter, Replica: MaxReplica, Sub: MaxSub}
	d, err := DecodeCSN(last.AppendBinary(nil))
	if err != nil || d != last {
		t.Fatalf("DecodeCSN(last) = %v, %v", d, err)
	}
	if p, err := ParseCSN(last.String()); err != nil || p != last {
		t.Fatalf("%s does not parse back: %v, %v", last, p, err)
	}
	if _, err := DecodeCSN(CSN{Time: MaxTime + 1}.AppendBinary(nil)); err == nil {
		t.Fatal("a time after year 9999 decoded")
	}
}

func TestCSNPrev(t *testing.T) {
	for _, tc := range []struct{ c, want CSN }{
		{CSN{Time: 5, Counter: 3, Replica: 2, Sub: 4}, CSN{Time: 5, Counter: 3, Replica: 2, Sub: 3}},
		{CSN{Time: 5, Counter: 3, Replica: 2}, CSN{Time: 5, Counter: 2, Replica: 2, Sub: MaxSub}},
		{CSN{Time: 5, Replica: 2}, CSN{Time: 4, Counter: MaxCounter, Replica: 2, Sub: MaxSub}},
		{CSN{}, CSN{}},
	} {
		if got := tc.c.Prev(); got != tc.want {
			t.Errorf("%v.Prev() = %v, want %v", tc.c, got, tc.want)
		}
	}
}
