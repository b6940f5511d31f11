package ldif

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

func writeRecords(t testing.TB, recs ...*Record) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range recs {
		if err := w.WriteChange(r); err != nil {
			t.Fatalf("WriteChange(%s): %v", fmtRecord(r), err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriterGolden(t *testing.T) {
	got := writeRecords(t,
		&Record{DN: "cn=a,dc=x", Attrs: []Attr{attr("objectClass", "top", "person"), attr("cn", "a"), attr("description", "")}},
		&Record{DN: "cn=b", ChangeType: "add", Controls: []Control{{OID: "1.2.3", Critical: true}}, Attrs: []Attr{attr("cn", "b")}},
		&Record{DN: "cn=c", ChangeType: "delete", Controls: []Control{{OID: "1.2.4", HasValue: true, Value: []byte("v")}, {OID: "1.2.5", HasValue: true}}},
		&Record{DN: "cn=d", ChangeType: "modify", Mods: []Mod{
			{Op: change.ModAdd, Attr: attr("mail", "a@x")}, {Op: change.ModDelete, Attr: Attr{Name: "phone"}},
			{Op: change.ModReplace, Attr: attr("sn", " x")}, {Op: change.ModIncrement, Attr: attr("n", "1")}}},
		&Record{DN: "cn=e", ChangeType: "moddn", NewRDN: "cn=f", DeleteOldRDN: true, HasNewSuperior: true, NewSuperior: "dc=y"},
		&Record{DN: "cn=g", ChangeType: "modrdn", NewRDN: "cn=h"},
	)
	want := `version: 1

dn: cn=a,dc=x
objectClass: top
objectClass: person
cn: a
description:

dn: cn=b
control: 1.2.3 true
changetype: add
cn: b

dn: cn=c
control: 1.2.4: v
control: 1.2.5:
changetype: delete

dn: cn=d
changetype: modify
add: mail
mail: a@x
-
delete: phone
-
replace: sn
sn:: IHg=
-
increment: n
n: 1
-

dn: cn=e
changetype: modrdn
newrdn: cn=f
deleteoldrdn: 1
newsuperior: dc=y

dn: cn=g
changetype: modrdn
newrdn: cn=h
deleteoldrdn: 0
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriterSafeString(t *testing.T) {
	tests := []struct {
		v    string
		safe bool
	}{
		{"plain", true},
		{"a:b<c d", true},
		{"", true},
		{" leading", false},
		{":colon", false},
		{"<angle", false},
		{"trailing ", false},
		{"Müller", false},
		{"nul\x00", false},
		{"cr\r", false},
		{"lf\nx", false},
		{"\x7f", true}, // DEL is a SAFE-CHAR
	}
	for _, tt := range tests {
		out := writeRecords(t, &Record{DN: tt.v, Attrs: []Attr{attr("description", tt.v)}})
		b64 := strings.Contains(out, "description:: ")
		dn64 := strings.Contains(out, "dn:: ")
		if b64 == tt.safe || dn64 == tt.safe {
			t.Errorf("%q: safe=%v but output\n%s", tt.v, tt.safe, out)
		}
		recs, errs := readAll(out, ReaderOptions{})
		if len(errs) > 0 || len(recs) != 1 || recs[0].DN != tt.v || string(recs[0].Attrs[0].Values[0]) != tt.v {
			t.Errorf("%q: round trip failed: %v %v", tt.v, errs, recs)
		}
	}
}

func TestWriterFolding(t *testing.T) {
	long := strings.Repeat("0123456789", 30)
	out := writeRecords(t, &Record{DN: "cn=" + long, Attrs: []Attr{
		attr("description", long), attr("x-"+strings.Repeat("a", 100), "v"), attr("cn", strings.Repeat("é", 100))}})
	for i, l := range strings.Split(out, "\n") {
		if len(l) > 76 {
			t.Errorf("line %d has %d bytes", i+1, len(l))
		}
	}
	recs, errs := readAll(out, ReaderOptions{})
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatal(errs)
	}
	if recs[0].DN != "cn="+long || string(recs[0].Attrs[0].Values[0]) != long ||
		recs[0].Attrs[1].Name != "x-"+strings.Repeat("a", 100) || string(recs[0].Attrs[2].Values[0]) != strings.Repeat("é", 100) {
		t.Errorf("folded record read back wrong: %s", fmtRecord(recs[0]))
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		rec  *Record
	}{
		{"no attributes", &Record{DN: "cn=a"}},
		{"attribute without values", &Record{DN: "cn=a", Attrs: []Attr{{Name: "cn"}}}},
		{"bad attribute", &Record{DN: "cn=a", Attrs: []Attr{attr("c n", "x")}}},
		{"reserved attribute", &Record{DN: "cn=a", Attrs: []Attr{attr("changetype", "x")}}},
		{"controls on content record", &Record{DN: "cn=a", Controls: []Control{{OID: "1.2"}}, Attrs: []Attr{attr("cn", "a")}}},
		{"bad control OID", &Record{DN: "cn=a", ChangeType: "delete", Controls: []Control{{OID: "x"}}}},
		{"unknown changetype", &Record{DN: "cn=a", ChangeType: "rename"}},
		{"unknown mod", &Record{DN: "cn=a", ChangeType: "modify", Mods: []Mod{{Op: change.ModOp(9), Attr: attr("cn", "a")}}}},
		{"add mod without values", &Record{DN: "cn=a", ChangeType: "modify", Mods: []Mod{{Op: change.ModAdd, Attr: Attr{Name: "cn"}}}}},
		{"increment two values", &Record{DN: "cn=a", ChangeType: "modify", Mods: []Mod{{Op: change.ModIncrement, Attr: attr("n", "1", "2")}}}},
		{"DN not UTF-8", &Record{DN: "cn=\xff", Attrs: []Attr{attr("cn", "a")}}},
		{"newrdn not UTF-8", &Record{DN: "cn=a", ChangeType: "modrdn", NewRDN: "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.WriteChange(tt.rec); err == nil {
				t.Fatal("accepted")
			}
			// Nothing but the version line was written, and the writer is usable.
			if err := w.WriteEntry("cn=ok", []Attr{attr("cn", "ok")}); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if want := "version: 1\n\ndn: cn=ok\ncn: ok\n"; buf.String() != want {
				t.Fatalf("output %q, want %q", buf.String(), want)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterStickyError(t *testing.T) {
	w := NewWriter(failWriter{})
	big := strings.Repeat("x", 100<<10) // larger than the buffer
	if err := w.WriteEntry("cn=a", []Attr{attr("description", big)}); err == nil {
		t.Fatal("no error from failing writer")
	}
	if err := w.Flush(); err == nil {
		t.Fatal("error not sticky")
	}
}

// awkward values that exercise every encoding decision.
var awkward = []string{
	"", " ", "  x", " leading", "trailing ", ":", "::", ":<", "<", "<x", "a:b", "#hash", "-",
	"Müller", "Łukasiewicz", "山田 太郎", "محمد", "\x00", "a\x00b", "\r\n", "line\nbreak", "\xff\xfe",
	"\x7f", "dn: cn=x", "version: 2", strings.Repeat("long ", 40), "\t tab",
}

func randValue(rng *rand.Rand) []byte {
	if rng.IntN(3) == 0 {
		b := make([]byte, rng.IntN(120))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	return []byte(awkward[rng.IntN(len(awkward))])
}

func randString(rng *rand.Rand) string {
	for {
		v := randValue(rng)
		if s := string(v); strings.ToValidUTF8(s, "") == s {
			return s
		}
	}
}

var randTypes = []string{"cn", "sn", "objectClass", "2.5.4.3", "cn;lang-ja", "jpegPhoto;binary", "x-A1-b", "description"}

func randAttrs(rng *rand.Rand, minVals int) []Attr {
	n := 1 + rng.IntN(len(randTypes))
	perm := rng.Perm(len(randTypes))[:n]
	attrs := make([]Attr, 0, n)
	for _, i := range perm {
		a := Attr{Name: randTypes[i]}
		for k := minVals + rng.IntN(3); k > 0; k-- {
			a.Values = append(a.Values, randValue(rng))
		}
		attrs = append(attrs, a)
	}
	return attrs
}

func randRecord(rng *rand.Rand) *Record {
	rec := &Record{DN: randString(rng)}
	switch rng.IntN(5) {
	case 0:
		rec.Attrs = randAttrs(rng, 1)
		return rec
	case 1:
		rec.ChangeType = "add"
		rec.Attrs = randAttrs(rng, 1)
	case 2:
		rec.ChangeType = "delete"
	case 3:
		rec.ChangeType = "modify"
		for k := rng.IntN(4); k > 0; k-- {
			op := change.ModOp(rng.IntN(4))
			a := randAttrs(rng, 0)[0]
			switch op {
			case change.ModAdd:
				a.Values = append(a.Values, randValue(rng))
			case change.ModIncrement:
				a.Values = [][]byte{[]byte(fmt.Sprint(rng.IntN(10)))}
			}
			rec.Mods = append(rec.Mods, Mod{Op: op, Attr: a})
		}
	case 4:
		rec.ChangeType = "modrdn"
		rec.NewRDN = randString(rng)
		rec.DeleteOldRDN = rng.IntN(2) == 0
		if rng.IntN(2) == 0 {
			rec.NewSuperior, rec.HasNewSuperior = randString(rng), true
		}
	}
	for k := rng.IntN(3); k > 0; k-- {
		c := Control{OID: "1.2.840.113556.1.4." + fmt.Sprint(rng.IntN(2000)), Critical: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			c.Value, c.HasValue = randValue(rng), true
		}
		rec.Controls = append(rec.Controls, c)
	}
	return rec
}

func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]*Record, 2000)
	for i := range recs {
		recs[i] = randRecord(rng)
	}
	out := writeRecords(t, recs...)
	for i, l := range strings.Split(out, "\n") {
		if len(l) > 76 {
			t.Fatalf("line %d too long", i+1)
		}
		for j := 0; j < len(l); j++ {
			if l[j] >= 0x80 || l[j] == 0 || l[j] == '\r' {
				t.Fatalf("line %d has unsafe byte %#x", i+1, l[j])
			}
		}
	}
	r := NewReader(strings.NewReader(out), ReaderOptions{})
	for i, want := range recs {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !equalRecord(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, fmtRecord(got), fmtRecord(want))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("trailing: %v", err)
	}
}
