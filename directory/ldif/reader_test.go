package ldif

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

func vals(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = []byte(v)
	}
	return out
}

func attr(t string, v ...string) Attr { return Attr{Name: t, Values: vals(v...)} }

func fmtRecord(r *Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{line %d dn %q ct %q", r.Line, r.DN, r.ChangeType)
	for _, a := range r.Attrs {
		fmt.Fprintf(&b, " %s=%q", a.Name, a.Values)
	}
	for _, m := range r.Mods {
		fmt.Fprintf(&b, " %s:%s=%q", m.Op, m.Attr.Name, m.Attr.Values)
	}
	if r.ChangeType == ChangeModRDN {
		fmt.Fprintf(&b, " newrdn %q del %v sup %q/%v", r.NewRDN, r.DeleteOldRDN, r.NewSuperior, r.HasNewSuperior)
	}
	for _, c := range r.Controls {
		fmt.Fprintf(&b, " control %s %v %q/%v", c.OID, c.Critical, c.Value, c.HasValue)
	}
	return b.String() + "}"
}

func TestReaderValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  ReaderOptions
		want []*Record
	}{
		{
			name: "content with version",
			in:   "version: 1\n\ndn: cn=a,dc=x\nobjectClass: top\ncn: a\n",
			want: []*Record{{Line: 3, DN: "cn=a,dc=x", Attrs: []Attr{attr("objectClass", "top"), attr("cn", "a")}}},
		},
		{
			name: "version directly followed by dn",
			in:   "version: 1\ndn: cn=a\ncn: a\n",
			want: []*Record{{Line: 2, DN: "cn=a", Attrs: []Attr{attr("cn", "a")}}},
		},
		{
			name: "no version, several blank lines, no final newline",
			in:   "\n\ndn: cn=a\ncn: a\n\n\n\ndn: cn=b\ncn: b",
			want: []*Record{
				{Line: 3, DN: "cn=a", Attrs: []Attr{attr("cn", "a")}},
				{Line: 8, DN: "cn=b", Attrs: []Attr{attr("cn", "b")}},
			},
		},
		{
			name: "values merged per type, case-insensitive, in order",
			in:   "dn: cn=a\nobjectClass: top\ncn: a\nobjectclass: person\nCN: b\ncn;lang-de: c\n",
			want: []*Record{{Line: 1, DN: "cn=a", Attrs: []Attr{
				attr("objectClass", "top", "person"), attr("cn", "a", "b"), attr("cn;lang-de", "c")}}},
		},
		{
			name: "comments, folded comments, comment inside record",
			in: "# header\n#  continued\n folded comment\nversion: 1\n\n# about a\ndn: cn=a\n# inside\n" +
				"  still comment\ncn: a\n#trailing\n\n# only comments\n\n",
			want: []*Record{{Line: 7, DN: "cn=a", Attrs: []Attr{attr("cn", "a")}}},
		},
		{
			name: "folded value and dn",
			in:   "dn: cn=averyl\n ong,dc=x\ndescription: one \n two\n  three\n",
			want: []*Record{{Line: 1, DN: "cn=averylong,dc=x", Attrs: []Attr{attr("description", "one two three")}}},
		},
		{
			name: "CRLF line endings",
			in:   "version: 1\r\n\r\ndn: cn=a\r\ncn: a\r\n fold\r\n\r\ndn: cn=b\r\ncn: b\r\n",
			want: []*Record{
				{Line: 3, DN: "cn=a", Attrs: []Attr{attr("cn", "afold")}},
				{Line: 7, DN: "cn=b", Attrs: []Attr{attr("cn", "b")}},
			},
		},
		{
			name: "BOM",
			in:   "\xef\xbb\xbfversion: 1\ndn: cn=a\ncn: a\n",
			want: []*Record{{Line: 2, DN: "cn=a", Attrs: []Attr{attr("cn", "a")}}},
		},
		{
			name: "base64 values and dn, empty values, root DSE",
			in: "dn::IGNuPWEs\ncn:: IGxlYWRpbmcgc3BhY2U=\ndescription:\ndescription::\njpegPhoto:: AAEC/w==\n\n" +
				"dn:\nobjectClass: top\n",
			want: []*Record{
				{Line: 1, DN: " cn=a,", Attrs: []Attr{attr("cn", " leading space"), attr("description", "", ""),
					{Name: "jpegPhoto", Values: [][]byte{{0, 1, 2, 0xff}}}}},
				{Line: 7, DN: "", Attrs: []Attr{attr("objectClass", "top")}},
			},
		},
		{
			name: "OID types, options, keyword case, UTF-8 plain value",
			in:   "DN: cn=a\n2.5.4.3: a\ncn;lang-de;binary: b\nsn:   Müller\n",
			want: []*Record{{Line: 1, DN: "cn=a", Attrs: []Attr{attr("2.5.4.3", "a"), attr("cn;lang-de;binary", "b"), attr("sn", "Müller")}}},
		},
		{
			name: "value with trailing space and inner colon kept",
			in:   "dn: cn=a\ndescription: a:b<c \n",
			want: []*Record{{Line: 1, DN: "cn=a", Attrs: []Attr{attr("description", "a:b<c ")}}},
		},
		{
			name: "add and delete",
			in:   "dn: cn=a\nchangetype: add\ncn: a\n\ndn: cn=b\nChangeType: DELETE\n",
			want: []*Record{
				{Line: 1, DN: "cn=a", ChangeType: "add", Attrs: []Attr{attr("cn", "a")}},
				{Line: 5, DN: "cn=b", ChangeType: "delete"},
			},
		},
		{
			name: "modify, all operations, last '-' omitted",
			in: "dn: cn=a\nchangetype: modify\nadd: mail\nmail: a@x\nmail: b@x\n-\ndelete: phone\n-\n" +
				"delete: cn\ncn: old\n-\nreplace: sn\nsn: new\n-\nreplace: seeAlso\n-\nincrement: uidNumber\nuidNumber: 1\n",
			want: []*Record{{Line: 1, DN: "cn=a", ChangeType: "modify", Mods: []Mod{
				{Op: change.ModAdd, Attr: attr("mail", "a@x", "b@x")},
				{Op: change.ModDelete, Attr: Attr{Name: "phone"}},
				{Op: change.ModDelete, Attr: attr("cn", "old")},
				{Op: change.ModReplace, Attr: attr("sn", "new")},
				{Op: change.ModReplace, Attr: Attr{Name: "seeAlso"}},
				{Op: change.ModIncrement, Attr: attr("uidNumber", "1")},
			}}},
		},
		{
			name: "modify with no modifications, '-' followed by spaces",
			in:   "dn: cn=a\nchangetype: modify\n\ndn: cn=b\nchangetype: modify\nadd: cn\ncn: x\n- \n",
			want: []*Record{
				{Line: 1, DN: "cn=a", ChangeType: "modify"},
				{Line: 4, DN: "cn=b", ChangeType: "modify", Mods: []Mod{{Op: change.ModAdd, Attr: attr("cn", "x")}}},
			},
		},
		{
			name: "modrdn and moddn",
			in: "dn: cn=a,dc=x\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 1\n\n" +
				"dn: cn=b,dc=x\nchangetype: moddn\nnewrdn:: Y249w6k=\ndeleteoldrdn: 0\nnewsuperior: ou=y,dc=x\n\n" +
				"dn: cn=c\nchangetype: modrdn\nnewrdn: cn=d\ndeleteoldrdn: 0\nnewsuperior:\n",
			want: []*Record{
				{Line: 1, DN: "cn=a,dc=x", ChangeType: "modrdn", NewRDN: "cn=b", DeleteOldRDN: true},
				{Line: 6, DN: "cn=b,dc=x", ChangeType: "modrdn", NewRDN: "cn=é", NewSuperior: "ou=y,dc=x", HasNewSuperior: true},
				{Line: 12, DN: "cn=c", ChangeType: "modrdn", NewRDN: "cn=d", HasNewSuperior: true},
			},
		},
		{
			name: "controls",
			in: "dn: cn=a\ncontrol: 1.2.840.113556.1.4.805 true\ncontrol: 1.2.3 false: some value\n" +
				"control: 1.2.4:: AAE=\ncontrol: 1.2.5 true:\nchangetype: delete\n",
			want: []*Record{{Line: 1, DN: "cn=a", ChangeType: "delete", Controls: []Control{
				{OID: "1.2.840.113556.1.4.805", Critical: true},
				{OID: "1.2.3", Value: []byte("some value"), HasValue: true},
				{OID: "1.2.4", Value: []byte{0, 1}, HasValue: true},
				{OID: "1.2.5", Critical: true, Value: []byte{}, HasValue: true},
			}}},
		},
		{
			name: "recovery after a bad record",
			in:   "dn: cn=a\nbad line\n\ndn: cn=b\ncn: b\n",
			want: []*Record{{Line: 4, DN: "cn=b", Attrs: []Attr{attr("cn", "b")}}},
		},
		{
			name: "only version and comments",
			in:   "version: 1\n# nothing\n",
		},
		{
			name: "empty input",
			in:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := readAll(tt.in, tt.opt)
			if tt.name != "recovery after a bad record" && len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errs)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records, want %d: %v", len(got), len(tt.want), got)
			}
			for i := range got {
				if !equalRecord(got[i], tt.want[i]) || got[i].Line != tt.want[i].Line {
					t.Errorf("record %d:\n got %s\nwant %s", i, fmtRecord(got[i]), fmtRecord(tt.want[i]))
				}
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		opt      ReaderOptions
		wantLine int
		wantMsg  string
	}{
		{"URL refused", "dn: cn=a\ncn: a\njpegPhoto:< file:///etc/shadow\n", ReaderOptions{}, 3, "URL values are disabled"},
		{"URL scheme", "dn: cn=a\njpegPhoto:< http://example.com/x\n", ReaderOptions{AllowURLs: true}, 2, "only file://"},
		{"URL remote host", "dn: cn=a\njpegPhoto:< file://evil/etc/passwd\n", ReaderOptions{AllowURLs: true}, 2, "remote host"},
		{"URL missing file", "dn: cn=a\njpegPhoto:< file:///nonexistent/ldif-test\n", ReaderOptions{AllowURLs: true}, 2, "reading URL value"},
		{"URL for dn", "dn:< file:///etc/hostname\ncn: a\n", ReaderOptions{AllowURLs: true}, 1, "URL not allowed"},
		{"broken folding at file start", " dn: cn=a\ncn: a\n", ReaderOptions{}, 1, "continuation line"},
		{"broken folding after blank line", "dn: cn=a\ncn: a\n\n cn: b\ndn: cn=b\n", ReaderOptions{}, 4, "continuation line"},
		{"version 2", "version: 2\n\ndn: cn=a\ncn: a\n", ReaderOptions{}, 1, "unsupported LDIF version \"2\""},
		{"version not first", "dn: cn=a\ncn: a\n\nversion: 1\n", ReaderOptions{}, 4, "only allowed as the first line"},
		{"bad base64", "dn: cn=a\ncn:: not*base64\n", ReaderOptions{}, 2, "invalid base64"},
		{"bad base64 padding", "dn: cn=a\ncn:: YQ\n", ReaderOptions{}, 2, "invalid base64"},
		{"bad base64 dn", "dn:: %%%\ncn: a\n", ReaderOptions{}, 1, "invalid base64"},
		{"base64 dn not UTF-8", "dn:: /w==\ncn: a\n", ReaderOptions{}, 1, "not valid UTF-8"},
		{"plain value not UTF-8", "dn: cn=a\ncn: \xff\n", ReaderOptions{}, 2, "not valid UTF-8"},
		{"NUL in plain value", "dn: cn=a\ncn: a\x00b\n", ReaderOptions{}, 2, "NUL or CR"},
		{"missing dn", "cn: a\nsn: b\n", ReaderOptions{}, 1, "does not start with dn:"},
		{"missing dn after comment", "version: 1\n\n# c\nobjectClass: top\n", ReaderOptions{}, 4, "does not start with dn:"},
		{"no attributes", "dn: cn=a\n", ReaderOptions{}, 1, "has no attributes"},
		{"add no attributes", "dn: cn=a\nchangetype: add\n", ReaderOptions{}, 1, "has no attributes"},
		{"missing colon", "dn: cn=a\ncn a\n", ReaderOptions{}, 2, "missing ':'"},
		{"invalid attr space", "dn: cn=a\nc n: a\n", ReaderOptions{}, 2, "invalid attribute description"},
		{"invalid attr digit start", "dn: cn=a\n1cn: a\n", ReaderOptions{}, 2, "invalid attribute description"},
		{"invalid attr empty option", "dn: cn=a\ncn;: a\n", ReaderOptions{}, 2, "invalid attribute description"},
		{"invalid attr underscore", "dn: cn=a\ncn;lang_de: a\n", ReaderOptions{}, 2, "invalid attribute description"},
		{"invalid OID", "dn: cn=a\n2.5..4: a\n", ReaderOptions{}, 2, "invalid attribute description"},
		{"empty attr", "dn: cn=a\n: a\n", ReaderOptions{}, 2, "invalid attribute description"},
		{"second dn without blank line", "dn: cn=a\ncn: a\ndn: cn=b\ncn: b\n", ReaderOptions{}, 3, "missing blank line"},
		{"changetype unknown", "dn: cn=a\nchangetype: rename\n", ReaderOptions{}, 2, "unknown changetype \"rename\""},
		{"changetype base64", "dn: cn=a\nchangetype:: YWRk\ncn: a\n", ReaderOptions{}, 2, "plain value"},
		{"changetype after attributes", "dn: cn=a\ncn: a\nchangetype: add\n", ReaderOptions{}, 3, "missing blank line"},
		{"delete with body", "dn: cn=a\nchangetype: delete\ncn: a\n", ReaderOptions{}, 3, "unexpected line in delete"},
		{"modify unknown op", "dn: cn=a\nchangetype: modify\nfrob: cn\n", ReaderOptions{}, 3, "expected add:, delete:, replace: or increment:"},
		{"modify line without op", "dn: cn=a\nchangetype: modify\n-\n", ReaderOptions{}, 3, "expected add:"},
		{"modify type mismatch", "dn: cn=a\nchangetype: modify\nadd: cn\ncn: a\nsn: b\n", ReaderOptions{}, 5, "missing '-' line"},
		{"modify add without values", "dn: cn=a\nchangetype: modify\nadd: cn\n-\n", ReaderOptions{}, 3, "has no values"},
		{"modify increment two values", "dn: cn=a\nchangetype: modify\nincrement: n\nn: 1\nn: 2\n-\n", ReaderOptions{}, 3, "exactly one value"},
		{"modify bad attr", "dn: cn=a\nchangetype: modify\nreplace: c_n\n-\n", ReaderOptions{}, 3, "invalid attribute description"},
		{"deleteoldrdn 2", "dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 2\n", ReaderOptions{}, 4, "deleteoldrdn must be 0 or 1"},
		{"deleteoldrdn missing", "dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\n", ReaderOptions{}, 1, "missing deleteoldrdn"},
		{"newrdn missing", "dn: cn=a\nchangetype: modrdn\ndeleteoldrdn: 1\n", ReaderOptions{}, 3, "expected newrdn"},
		{"modrdn extra line", "dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 1\nnewsuperior: dc=x\ncn: b\n", ReaderOptions{}, 6, "unexpected line after newsuperior"},
		{"modrdn wrong line", "dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 1\ncn: b\n", ReaderOptions{}, 5, "expected newsuperior"},
		{"control without changetype", "dn: cn=a\ncontrol: 1.2.3\ncn: a\n", ReaderOptions{}, 1, "must be followed by changetype"},
		{"control bad OID", "dn: cn=a\ncontrol: foo\nchangetype: delete\n", ReaderOptions{}, 2, "invalid OID"},
		{"control bad criticality", "dn: cn=a\ncontrol: 1.2.3 maybe\nchangetype: delete\n", ReaderOptions{}, 2, "criticality"},
		{"control garbage", "dn: cn=a\ncontrol: 1.2.3 true x\nchangetype: delete\n", ReaderOptions{}, 2, "unexpected"},
		{"record too large", "dn: cn=a\ndescription: " + strings.Repeat("x", 200) + "\n", ReaderOptions{MaxRecordBytes: 100}, 2, "exceeds 100 bytes"},
		{"line too long", "dn: cn=a\ndescription: " + strings.Repeat("x", 200) + "\n", ReaderOptions{MaxLineLength: 50}, 2, "line exceeds 50 bytes"},
		{"folded line too long", "dn: cn=a\ndescription: x\n" + strings.Repeat(" xxxxxxxxxx\n", 10), ReaderOptions{MaxLineLength: 50}, 2, "line exceeds 50 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := readAll(tt.in, tt.opt)
			if len(errs) == 0 {
				t.Fatalf("no error, want %q", tt.wantMsg)
			}
			pe := asParseError(errs[0])
			if pe == nil {
				t.Fatalf("error %v (%T) is not a *ParseError", errs[0], errs[0])
			}
			if pe.Line != tt.wantLine || !strings.Contains(pe.Msg, tt.wantMsg) {
				t.Errorf("got %v, want line %d containing %q", pe, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

func TestReaderURLAllowed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "photo.bin")
	data := []byte{0xff, 0xd8, 0, 1, 2}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	in := "dn: cn=a\njpegPhoto:< file://" + p + "\ncn: a\n"
	recs, errs := readAll(in, ReaderOptions{AllowURLs: true})
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("recs %v errs %v", recs, errs)
	}
	if !equalAttrs(recs[0].Attrs, []Attr{{Name: "jpegPhoto", Values: [][]byte{data}}, attr("cn", "a")}) {
		t.Errorf("got %s", fmtRecord(recs[0]))
	}
	// The file's size counts against MaxRecordBytes.
	_, errs = readAll(in, ReaderOptions{AllowURLs: true, MaxRecordBytes: 4})
	if len(errs) == 0 {
		t.Fatal("oversized URL value accepted")
	}
}

func TestReaderStickyIOError(t *testing.T) {
	r := NewReader(errReader{}, ReaderOptions{})
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("got %v then %v, want the same I/O error twice", err1, err2)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestReaderLongPhysicalLine(t *testing.T) {
	// Longer than the bufio buffer, exercising the slow path.
	v := strings.Repeat("abcdefgh", 20000)
	recs, errs := readAll("dn: cn=a\r\ndescription: "+v+"\r\ncn: a\r\n", ReaderOptions{})
	if len(errs) > 0 || len(recs) != 1 || string(recs[0].Attrs[0].Values[0]) != v {
		t.Fatalf("errs %v, recs %d", errs, len(recs))
	}
}

func TestReaderValuesDoNotAlias(t *testing.T) {
	r := NewReader(strings.NewReader("dn: cn=a\ncn: first\n\ndn: cn=b\ncn: other\n"), ReaderOptions{})
	a, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if got := string(a.Attrs[0].Values[0]); got != "first" {
		t.Fatalf("first record's value changed to %q", got)
	}
	// Appending to a value must not clobber its neighbour.
	r = NewReader(strings.NewReader("dn: cn=a\ncn: x\nsn: y\n"), ReaderOptions{})
	rec, _ := r.Next()
	_ = append(rec.Attrs[0].Values[0], 'Z')
	if string(rec.Attrs[1].Values[0]) != "y" {
		t.Fatal("values share capacity")
	}
}

func TestManyAttributeTypes(t *testing.T) {
	var b strings.Builder
	b.WriteString("dn: cn=a\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "attr%d: v\n", i)
	}
	for i := 39; i >= 0; i-- {
		fmt.Fprintf(&b, "ATTR%d: w\n", i)
	}
	recs, errs := readAll(b.String(), ReaderOptions{})
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatal(errs)
	}
	if n := len(recs[0].Attrs); n != 40 {
		t.Fatalf("%d attrs, want 40", n)
	}
	for i, a := range recs[0].Attrs {
		if a.Name != fmt.Sprintf("attr%d", i) || !equalValues(a.Values, vals("v", "w")) {
			t.Fatalf("attr %d = %s %q", i, a.Name, a.Values)
		}
	}
}
